import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildEnvelope, decodeEnvelope, encodeEnvelope, toTimestamp } from '@koban/platform';
import { deadLetterEvent } from '../dead-letters/dead-letter.js';
import { PENDING_AT_COMPLETION, deferredGrantFrom, type DeferredGrant } from './deferred-grant.js';

const record = (value: Buffer) => ({
  topic: 'cashback.v1',
  partition: 1,
  offset: '42',
  eventId: 'evt-1',
  key: Buffer.from('acc_points'),
  value,
  headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
});

const deferred = {
  paymentId: 'pay_1',
  userId: 'usr_1',
  pointsAccountId: 'acc_points',
  merchantId: 'mch_1',
  amount: '1200',
  currency: 'JPY',
  paidAt: toTimestamp(1_000),
  reason: 'timeout',
};

void describe('what the retry queue takes from an event', () => {
  void it('queues a CashbackDeferred as it is, remembering the record', () => {
    const value = encodeEnvelope(
      buildEnvelope('cashbackDeferred', deferred, { key: 'acc_points', producer: 'payment' }),
    );
    const input = deferredGrantFrom(record(value), decodeEnvelope(value));
    assert.ok(input);
    assert.deepEqual(
      [
        input.paymentId,
        input.amount,
        input.paidAt.getTime(),
        input.reason,
        input.source.eventType,
        input.source.key,
      ],
      ['pay_1', '1200', 1_000, 'timeout', 'CashbackDeferred', 'acc_points'],
    );
    assert.equal(input.source.traceparent, '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
  });

  void it('queues a PaymentCompleted only when its cashback is PENDING', () => {
    const completed = (cashbackStatus: 'CASHBACK_STATUS_PENDING' | 'CASHBACK_STATUS_GRANTED') => {
      const value = encodeEnvelope(
        buildEnvelope(
          'paymentCompleted',
          {
            paymentId: 'pay_2',
            payerUserId: 'usr_2',
            merchantId: 'mch_2',
            amount: '800',
            currency: 'JPY',
            cashbackStatus,
            completedAt: toTimestamp(2_000),
          },
          { key: 'acc_wallet', producer: 'payment' },
        ),
      );
      return deferredGrantFrom(record(value), decodeEnvelope(value));
    };
    const pending = completed('CASHBACK_STATUS_PENDING');
    assert.deepEqual(
      [pending?.userId, pending?.pointsAccountId, pending?.paidAt.getTime(), pending?.reason],
      ['usr_2', '', 2_000, PENDING_AT_COMPLETION],
    );
    assert.equal(completed('CASHBACK_STATUS_GRANTED'), undefined);
  });

  void it('dead-letters a CashbackDeferred as its original record, and a PaymentCompleted as the CashbackDeferred it stood for', () => {
    const value = encodeEnvelope(
      buildEnvelope('cashbackDeferred', deferred, { key: 'acc_points', producer: 'payment' }),
    );
    const queued = deferredGrantFrom(record(value), decodeEnvelope(value));
    assert.ok(queued);
    const grant: DeferredGrant = {
      ...queued,
      state: 'DEAD',
      attempts: 8,
      lastError: null,
      createdAt: new Date(),
    };
    const letter = deadLetterEvent(grant, 'cashback.v1.dlq');
    assert.deepEqual(
      [letter.topic, letter.key, letter.eventType],
      ['cashback.v1.dlq', 'acc_points', 'CashbackDeferred'],
    );
    assert.ok(letter.payload.equals(value));

    const fromCompleted = deadLetterEvent(
      { ...grant, pointsAccountId: '', source: { ...grant.source, eventType: 'PaymentCompleted' } },
      'cashback.v1.dlq',
    );
    const envelope = decodeEnvelope(fromCompleted.payload);
    assert.equal(fromCompleted.key, 'usr_1');
    assert.deepEqual(
      [envelope.cashbackDeferred?.paymentId, envelope.cashbackDeferred?.amount],
      ['pay_1', '1200'],
    );
  });
});
