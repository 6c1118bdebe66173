import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ConfigError, parseConfig } from '@koban/platform';
import { activeVaultKeyId, configSchema } from './config.js';

const parse = (env: Record<string, string>) => parseConfig('bank-integration', configSchema, env);
const b64 = () => randomBytes(32).toString('base64');
const variablesOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((issue) => issue.variable);
    throw error;
  }
  return [];
};

void describe('bank-integration config', () => {
  void it('runs on the marked dev defaults outside production', () => {
    const config = parse({});
    assert.equal(config.GRPC_PORT, 50053);
    assert.equal(config.MYSQL_DATABASE, 'koban_bank');
    assert.equal(activeVaultKeyId(config), 'dev-v1');
    assert.equal(config.FRAUD_TIMEOUT_MS, 300);
  });

  void it('refuses every dev secret in production, naming each variable', () => {
    assert.deepEqual(variablesOf(() => parse({ NODE_ENV: 'production' })).sort(), [
      'CARD_FINGERPRINT_SECRET',
      'CARD_VAULT_KEYS',
      'ISSUER_SIM_SECRET',
    ]);
  });

  void it('starts in production with its own secrets, the active key chosen or the last one', () => {
    const env = {
      NODE_ENV: 'production',
      CARD_VAULT_KEYS: `v1:${b64()},v2:${b64()}`,
      CARD_FINGERPRINT_SECRET: 'a-real-fingerprint-secret-0123456789',
      ISSUER_SIM_SECRET: 'a-real-issuer-secret-0123456789',
    };
    assert.equal(activeVaultKeyId(parse(env)), 'v2');
    assert.equal(activeVaultKeyId(parse({ ...env, CARD_VAULT_ACTIVE_KEY: 'v1' })), 'v1');
  });

  void it('refuses an active key that is not configured and malformed keys', () => {
    assert.deepEqual(
      variablesOf(() => parse({ CARD_VAULT_KEYS: `v1:${b64()}`, CARD_VAULT_ACTIVE_KEY: 'v2' })),
      ['CARD_VAULT_ACTIVE_KEY'],
    );
    assert.deepEqual(
      variablesOf(() => parse({ CARD_VAULT_KEYS: 'v1:c2hvcnQ=' })),
      ['CARD_VAULT_KEYS'],
    );
    assert.deepEqual(
      variablesOf(() => parse({ BANK_SIM_FAILURE_RATE: '1.5' })),
      ['BANK_SIM_FAILURE_RATE'],
    );
  });
});
