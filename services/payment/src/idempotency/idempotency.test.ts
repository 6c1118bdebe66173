import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkScope,
  decideExistingKey,
  markerHash,
  markerKey,
  markerValue,
  requestHash,
  type StoredKey,
} from './idempotency.js';

const stored = (overrides: Partial<StoredKey>): StoredKey => ({
  requestHash: 'h1',
  state: 'IN_PROGRESS',
  owner: 'owner-1',
  leaseLive: true,
  resourceId: null,
  response: null,
  ...overrides,
});

void describe('requestHash', () => {
  void it('does not depend on the order of the fields', () => {
    assert.equal(
      requestHash('CreatePayment', { amount: '100', merchantId: 'm1' }),
      requestHash('CreatePayment', { merchantId: 'm1', amount: '100' }),
    );
  });

  void it('differs for another value, another field or another operation', () => {
    const base = requestHash('CreatePayment', { amount: '100' });
    assert.notEqual(base, requestHash('CreatePayment', { amount: '101' }));
    assert.notEqual(base, requestHash('CreatePayment', { amount: '100', currency: '' }));
    assert.notEqual(base, requestHash('CreateTransfer', { amount: '100' }));
  });

  void it('is a SHA-256 hex digest', () => {
    assert.match(requestHash('CreateRefund', {}), /^[0-9a-f]{64}$/);
  });
});

void describe('checkScope', () => {
  void it('accepts keys of 1 to 255 characters', () => {
    assert.deepEqual(checkScope('usr_1', 'k'), { callerId: 'usr_1', key: 'k' });
    assert.doesNotThrow(() => checkScope('usr_1', 'k'.repeat(255)));
  });

  void it('refuses an empty or oversized key, and a missing caller, as invalid_request', () => {
    for (const [caller, key] of [
      ['usr_1', ''],
      ['usr_1', 'k'.repeat(256)],
      ['', 'k'],
    ] as const) {
      assert.throws(() => checkScope(caller, key), { code: 'invalid_request' });
    }
  });
});

void describe('decideExistingKey', () => {
  void it('answers reused for another request, whatever the state', () => {
    assert.deepEqual(decideExistingKey(stored({}), 'h2'), { kind: 'reused' });
    assert.deepEqual(decideExistingKey(stored({ state: 'COMPLETED', response: Buffer.from('r') }), 'h2'), {
      kind: 'reused',
    });
  });

  void it('replays the stored response of a completed key', () => {
    const response = Buffer.from([1, 2, 3]);
    assert.deepEqual(decideExistingKey(stored({ state: 'COMPLETED', response }), 'h1'), {
      kind: 'replay',
      response,
    });
  });

  void it('answers in progress while the owner holds a live lease', () => {
    assert.deepEqual(decideExistingKey(stored({ leaseLive: true }), 'h1'), { kind: 'in_progress' });
  });

  void it('takes over an expired lease, keeping the resource already bound', () => {
    assert.deepEqual(decideExistingKey(stored({ leaseLive: false, resourceId: 'pmt_1' }), 'h1'), {
      kind: 'take_over',
      resourceId: 'pmt_1',
    });
  });
});

void describe('in-flight marker', () => {
  void it('hashes the scope so that separators in ids cannot collide', () => {
    assert.notEqual(markerKey({ callerId: 'a:b', key: 'c' }), markerKey({ callerId: 'a', key: 'b:c' }));
    assert.match(markerKey({ callerId: 'u', key: 'k' }), /^payment:idem:[0-9a-f]{64}$/);
  });

  void it('carries the request hash after the owner', () => {
    assert.equal(markerHash(markerValue('owner-1', 'abc')), 'abc');
  });
});
