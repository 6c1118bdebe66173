// A service given a bad environment stops at start with a message naming the variable.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const services = ['gateway', 'payment', 'ledger', 'bank-integration', 'fraud', 'campaign-promo'];

function start(service: string, env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: path.join(root, 'services', service),
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

describe('start-up configuration', () => {
  for (const service of services) {
    it(`${service} refuses a malformed MYSQL_PORT and REDIS_URL, naming both`, () => {
      const result = start(service, { MYSQL_PORT: 'not-a-port', REDIS_URL: 'nope' });
      assert.equal(result.status, 78, result.stderr);
      assert.match(result.stderr, new RegExp(`invalid configuration for ${service}`));
      assert.match(result.stderr, /MYSQL_PORT: /);
      assert.match(result.stderr, /REDIS_URL: /);
    });
  }

  it('the gateway refuses the dev admin token in production', () => {
    const result = start('gateway', { NODE_ENV: 'production' });
    assert.equal(result.status, 78, result.stderr);
    assert.match(result.stderr, /ADMIN_TOKEN: must be set to a secret in production/);
  });

  it('payment refuses a downstream address without a port', () => {
    const result = start('payment', { LEDGER_ADDR: 'ledger-without-port' });
    assert.equal(result.status, 78, result.stderr);
    assert.match(result.stderr, /LEDGER_ADDR: expected host:port/);
  });
});
