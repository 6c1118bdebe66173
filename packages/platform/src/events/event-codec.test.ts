import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toTimestamp } from '../grpc/timestamp.js';
import {
  buildEnvelope,
  decodeEnvelope,
  decodeEvent,
  encodeEnvelope,
  encodeEvent,
  eventFullName,
  eventTypeNameOf,
} from './event-codec.js';
import { eventTopics, type EventKind } from './topics.js';

const completedAt = toTimestamp(Date.parse('2030-01-01T12:00:00.000Z'));

describe('event codec', () => {
  it('round-trips an event with int64 as strings, enums as names and defaults filled in', () => {
    const bytes = encodeEvent('PaymentCompleted', {
      paymentId: 'pay-1',
      payerAccountId: 'acc-1',
      amount: 1500,
      currency: 'JPY',
      method: 'PAYMENT_METHOD_WALLET',
      cashbackStatus: 'CASHBACK_STATUS_PENDING',
      completedAt,
    });
    const decoded = decodeEvent('PaymentCompleted', bytes);
    assert.equal(decoded.paymentId, 'pay-1');
    assert.equal(decoded.amount, '1500');
    assert.equal(decoded.method, 'PAYMENT_METHOD_WALLET');
    assert.equal(decoded.cashbackStatus, 'CASHBACK_STATUS_PENDING');
    assert.equal(decoded.cashbackPoints, '0');
    assert.equal(decoded.merchantId, '');
    assert.deepEqual(decoded.completedAt, completedAt);
  });

  it('keeps int64 values beyond 2^53 exact', () => {
    const decoded = decodeEvent(
      'TransferCompleted',
      encodeEvent('TransferCompleted', { amount: '9007199254740993' }),
    );
    assert.equal(decoded.amount, '9007199254740993');
  });

  it('wraps an event in an envelope whose oneof names the kind', () => {
    const envelope = buildEnvelope(
      'topupFailed',
      { topupId: 'top-1', accountId: 'acc-7', amount: 3000, bankAccountId: 'ba-1', reason: 'bank_declined' },
      { key: 'acc-7', producer: 'payment', occurredAt: Date.parse('2030-01-01T12:00:00.000Z') },
    );
    const decoded = decodeEnvelope(encodeEnvelope(envelope));
    assert.match(decoded.eventId, /^[0-9a-f-]{36}$/);
    assert.equal(decoded.key, 'acc-7');
    assert.equal(decoded.producer, 'payment');
    assert.deepEqual(decoded.occurredAt, completedAt);
    assert.equal(decoded.event, 'topupFailed');
    assert.equal(decoded.topupFailed?.source, 'bankAccountId');
    assert.equal(decoded.topupFailed?.reason, 'bank_declined');
    assert.equal(decoded.paymentCompleted, undefined);
  });

  it('keeps a given event id, as an outbox relay re-publishing a row must', () => {
    const envelope = buildEnvelope(
      'cashbackDeferred',
      { paymentId: 'pay-2' },
      { key: 'pts-1', producer: 'payment', eventId: 'evt-stored' },
    );
    assert.equal(decodeEnvelope(encodeEnvelope(envelope)).eventId, 'evt-stored');
  });

  it('decodes an envelope of an unknown kind with no event set', () => {
    // Field 99 stands for a kind added by a newer producer: length-delimited, empty.
    const newer = Buffer.concat([encodeEnvelope({ eventId: 'evt-9' }), Buffer.from([0x9a, 0x06, 0x00])]);
    const decoded = decodeEnvelope(newer);
    assert.equal(decoded.eventId, 'evt-9');
    assert.equal(decoded.event, undefined);
  });

  it('refuses bytes that are not protobuf', () => {
    assert.throws(() => decodeEnvelope(Buffer.from([0xff, 0xff, 0xff])));
  });

  it('names the message type of each envelope member, for the koban-event-type header', () => {
    assert.equal(eventFullName(eventTypeNameOf('cashbackClawedBack')), 'koban.events.v1.CashbackClawedBack');
    for (const kind of Object.keys(eventTopics) as EventKind[]) {
      assert.doesNotThrow(() => decodeEvent(eventTypeNameOf(kind), Buffer.alloc(0)), kind);
    }
  });
});
