import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createMerchantInput,
  createUserInput,
  hashCredential,
  newCredential,
  newPartyId,
  secretsEqual,
} from './party.js';

describe('credentials', () => {
  it('are 32 random bytes behind a prefix telling tokens from API keys', () => {
    const token = newCredential('user');
    const apiKey = newCredential('merchant');
    assert.match(token, /^kbt_[A-Za-z0-9_-]{43}$/);
    assert.match(apiKey, /^kbk_[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(token.slice(4), 'base64url').length, 32);
    assert.notEqual(newCredential('user'), token);
  });

  it('are stored as their SHA-256 in lowercase hex', () => {
    assert.equal(hashCredential('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.match(hashCredential(newCredential('user')), /^[0-9a-f]{64}$/);
  });

  it('compare equal only when identical, whatever their lengths', () => {
    assert.equal(secretsEqual('koban-dev-admin-token', 'koban-dev-admin-token'), true);
    assert.equal(secretsEqual('koban-dev-admin-tokem', 'koban-dev-admin-token'), false);
    assert.equal(secretsEqual('short', 'koban-dev-admin-token'), false);
    assert.equal(secretsEqual('', 'koban-dev-admin-token'), false);
  });
});

describe('party ids', () => {
  it('are opaque random strings with a type prefix', () => {
    assert.match(newPartyId('usr'), /^usr_[0-9a-f]{32}$/);
    assert.match(newPartyId('mch'), /^mch_[0-9a-f]{32}$/);
    assert.notEqual(newPartyId('usr'), newPartyId('usr'));
  });
});

describe('sign-up inputs', () => {
  it('need a display name of 1 to 100 characters, trimmed', () => {
    assert.deepEqual(createUserInput.parse({ displayName: '  Alice ' }), { displayName: 'Alice' });
    for (const displayName of ['', '   ', 'x'.repeat(101), 42, undefined]) {
      assert.equal(createUserInput.safeParse({ displayName }).success, false, String(displayName));
    }
  });

  it('need a merchant name, and an mcc of four digits when given', () => {
    assert.deepEqual(createMerchantInput.parse({ name: 'Shop', mcc: '5812' }), { name: 'Shop', mcc: '5812' });
    assert.deepEqual(createMerchantInput.parse({ name: 'Shop' }), { name: 'Shop' });
    assert.equal(createMerchantInput.safeParse({ name: 'Shop', mcc: '581' }).success, false);
    assert.equal(createMerchantInput.safeParse({ mcc: '5812' }).success, false);
  });
});
