import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  findRetryableTransactionError,
  isRetryableTransactionError,
  transactionRetryDelayMs,
} from './transaction-retry.js';

/** Shaped like the errors mysql2 rejects with. */
function driverError(fields: { errno?: number; code?: string; fatal?: boolean }): Error {
  return Object.assign(new Error(fields.code ?? 'driver error'), { fatal: false, ...fields });
}

void describe('isRetryableTransactionError', () => {
  for (const [errno, what] of [
    [1213, 'a deadlock'],
    [1205, 'a lock wait timeout'],
    [9007, 'a TiDB write conflict'],
    [8002, 'a TiDB SELECT FOR UPDATE conflict'],
    [8022, 'a TiDB retryable commit failure'],
  ] as const) {
    void it(`retries ${what} (${errno})`, () => {
      assert.equal(isRetryableTransactionError(driverError({ errno })), true);
    });
  }

  void it('retries a deadlock wrapped as the cause of another error', () => {
    const wrapped = new Error('transfer failed', {
      cause: driverError({ errno: 1213, code: 'ER_LOCK_DEADLOCK' }),
    });
    assert.equal(isRetryableTransactionError(wrapped), true);
  });

  void it('does not retry a duplicate key or a missing table', () => {
    assert.equal(isRetryableTransactionError(driverError({ errno: 1062, code: 'ER_DUP_ENTRY' })), false);
    assert.equal(isRetryableTransactionError(driverError({ errno: 1146, code: 'ER_NO_SUCH_TABLE' })), false);
  });

  void it('does not retry a lost connection, whose transaction may have committed', () => {
    assert.equal(
      isRetryableTransactionError(driverError({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true })),
      false,
    );
    assert.equal(
      isRetryableTransactionError(driverError({ errno: -104, code: 'ECONNRESET', fatal: true })),
      false,
    );
  });

  void it('does not retry a retryable number on a fatal error', () => {
    assert.equal(isRetryableTransactionError(driverError({ errno: 1213, fatal: true })), false);
  });

  void it('answers false for values that are not errors', () => {
    for (const value of [undefined, null, 1213, 'ER_LOCK_DEADLOCK', { errno: '1213' }]) {
      assert.equal(isRetryableTransactionError(value), false);
    }
  });

  void it('stops following a cycle of causes', () => {
    const a: { cause?: unknown } = {};
    const b = { cause: a };
    a.cause = b;
    assert.equal(isRetryableTransactionError(a), false);
  });
});

void describe('findRetryableTransactionError', () => {
  void it('names the server error that made a wrapped failure retryable', () => {
    const wrapped = new Error('transfer failed', { cause: driverError({ errno: 9007, code: 'ER_UNKNOWN' }) });
    assert.deepEqual(findRetryableTransactionError(wrapped), { errno: 9007, code: 'ER_UNKNOWN' });
    assert.equal(findRetryableTransactionError(driverError({ errno: 1062 })), undefined);
  });
});

void describe('transactionRetryDelayMs', () => {
  const backoff = { baseDelayMs: 20, maxDelayMs: 1000 };

  void it('doubles the ceiling per attempt, between half and all of it', () => {
    assert.equal(
      transactionRetryDelayMs(1, backoff, () => 0),
      10,
    );
    assert.equal(
      transactionRetryDelayMs(1, backoff, () => 1),
      20,
    );
    assert.equal(
      transactionRetryDelayMs(3, backoff, () => 0),
      40,
    );
    assert.equal(
      transactionRetryDelayMs(3, backoff, () => 1),
      80,
    );
  });

  void it('never exceeds the cap', () => {
    assert.equal(
      transactionRetryDelayMs(30, backoff, () => 1),
      1000,
    );
  });
});
