import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_CLAIM_TOKEN_LENGTH,
  claimToken,
  eventTypeHeaderValue,
  publishLanes,
  relayBackoffMs,
  rowHeaders,
  type OutboxRow,
} from './outbox-batch.js';

function row(overrides: Partial<OutboxRow> & Pick<OutboxRow, 'eventId'>): OutboxRow {
  return {
    topic: 'payments.v1',
    key: 'acc-1',
    eventType: 'PaymentCompleted',
    payload: Buffer.from('x'),
    traceparent: null,
    tracestate: null,
    attempts: 1,
    ...overrides,
  };
}

void describe('claimToken', () => {
  void it('is fresh per batch and names the relay', () => {
    const a = claimToken('relay-1');
    const b = claimToken('relay-1');
    assert.notEqual(a, b);
    assert.match(a, /^relay-1\/[0-9a-f]{16}$/);
  });

  void it('fits claimed_by however long the relay id is', () => {
    const token = claimToken('r'.repeat(200), () => Buffer.alloc(8, 0xab));
    assert.equal(token.length, MAX_CLAIM_TOKEN_LENGTH);
    assert.ok(token.endsWith('/abababababababab'));
  });
});

void describe('eventTypeHeaderValue', () => {
  void it('qualifies a short type name with the events package', () => {
    assert.equal(eventTypeHeaderValue('PaymentCompleted'), 'koban.events.v1.PaymentCompleted');
  });

  void it('keeps a name that is already qualified', () => {
    assert.equal(
      eventTypeHeaderValue('koban.events.v1.CashbackDeferred'),
      'koban.events.v1.CashbackDeferred',
    );
  });
});

void describe('rowHeaders', () => {
  void it('carries the event type and the stored trace context', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    assert.deepEqual(rowHeaders(row({ eventId: 'e', traceparent, tracestate: 'k=v' })), {
      'koban-event-type': 'koban.events.v1.PaymentCompleted',
      traceparent,
      tracestate: 'k=v',
    });
  });

  void it('leaves trace headers out when the row has none (and tracestate without traceparent)', () => {
    assert.deepEqual(rowHeaders(row({ eventId: 'e', tracestate: 'k=v' })), {
      'koban-event-type': 'koban.events.v1.PaymentCompleted',
    });
  });
});

void describe('publishLanes', () => {
  void it('groups rows by topic and key, keeping the batch order inside each lane', () => {
    const rows = [
      row({ eventId: '1', key: 'a' }),
      row({ eventId: '2', key: 'b' }),
      row({ eventId: '3', key: 'a' }),
      row({ eventId: '4', key: 'a', topic: 'cashback.v1' }),
      row({ eventId: '5', key: 'b' }),
    ];
    assert.deepEqual(
      publishLanes(rows).map((lane) => lane.map((r) => r.eventId)),
      [['1', '3'], ['2', '5'], ['4']],
    );
  });

  void it('keeps keys apart that would collide if joined naively', () => {
    const rows = [
      row({ eventId: '1', topic: 'a.b', key: 'c' }),
      row({ eventId: '2', topic: 'a', key: 'b.c' }),
    ];
    assert.equal(publishLanes(rows).length, 2);
  });

  void it('yields no lanes for an empty batch', () => {
    assert.deepEqual(publishLanes([]), []);
  });
});

void describe('relayBackoffMs', () => {
  const backoff = { initialDelayMs: 200, maxDelayMs: 10_000 };

  void it('doubles per consecutive failure up to the cap', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 50].map((failures) => relayBackoffMs(failures, backoff, () => 1)),
      [200, 400, 800, 1600, 3200, 6400, 10_000, 10_000],
    );
  });

  void it('jitters down by at most a fifth and never reaches zero', () => {
    assert.equal(
      relayBackoffMs(1, backoff, () => 0),
      160,
    );
    assert.equal(
      relayBackoffMs(1, { initialDelayMs: 1, maxDelayMs: 1 }, () => 0),
      1,
    );
  });
});
