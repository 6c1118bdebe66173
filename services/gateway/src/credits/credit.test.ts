import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { creditTransferId } from './credit.js';

describe('creditTransferId', () => {
  it('is credit_ and the SHA-256 of the admin-scoped key: the same key, the same transfer', () => {
    const expected = `credit_${createHash('sha256').update('admin|key-1').digest('hex')}`;
    assert.equal(creditTransferId('key-1'), expected);
    assert.equal(creditTransferId('key-1'), creditTransferId('key-1'));
    assert.notEqual(creditTransferId('key-2'), expected);
  });
});
