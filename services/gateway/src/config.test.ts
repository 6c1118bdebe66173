import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from './config.js';

describe('configSchema', () => {
  it('defaults to API.md’s limits, the local addresses and no trusted proxy', () => {
    const config = configSchema.parse({});
    assert.deepEqual(
      [
        config.RATE_LIMIT_PER_SECOND,
        config.RATE_LIMIT_BURST,
        config.TRUSTED_PROXIES,
        config.BANK_INTEGRATION_ADDR,
        config.CAMPAIGN_ADDR,
        config.BANK_INTEGRATION_TIMEOUT_MS,
        config.CAMPAIGN_TIMEOUT_MS,
      ],
      [200, 400, [], '127.0.0.1:50053', '127.0.0.1:50055', 3_000, 2_000],
    );
  });

  it('reads trusted proxies as IPs, CIDRs and named ranges', () => {
    const config = configSchema.parse({ TRUSTED_PROXIES: ' 10.0.0.1, 10.1.0.0/16 ,::1,fd00::/8,loopback' });
    assert.deepEqual(config.TRUSTED_PROXIES, ['10.0.0.1', '10.1.0.0/16', '::1', 'fd00::/8', 'loopback']);
  });

  it('refuses a trusted proxy that is not an address', () => {
    for (const value of ['proxy.local', '10.0.0.0/33', '10.0.0.1/8/1', '::1/129', '10.0.0.0/x']) {
      const result = configSchema.safeParse({ TRUSTED_PROXIES: value });
      assert.equal(result.success, false, value);
      assert.deepEqual(result.error?.issues[0]?.path, ['TRUSTED_PROXIES']);
    }
  });

  it('refuses a rate limit below 1', () => {
    assert.equal(configSchema.safeParse({ RATE_LIMIT_PER_SECOND: '0' }).success, false);
    assert.equal(configSchema.safeParse({ RATE_LIMIT_BURST: '0' }).success, false);
  });
});
