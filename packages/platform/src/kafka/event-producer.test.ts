import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { publishContext } from './event-producer.js';

const active = trace.setSpanContext(ROOT_CONTEXT, {
  traceId: '11111111111111111111111111111111',
  spanId: '2222222222222222',
  traceFlags: 1,
});

void describe('publishContext', () => {
  void it('continues a stored traceparent (the outbox case) rather than the active trace', () => {
    const stored = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const ctx = publishContext({ traceparent: stored }, active);
    assert.equal(trace.getSpanContext(ctx)?.traceId, '0af7651916cd43dd8448eb211c80319c');
  });

  void it('uses the active context when no traceparent is given', () => {
    assert.equal(publishContext({ other: 'x' }, active), active);
    assert.equal(publishContext(undefined, active), active);
  });

  void it('yields no trace for a stored traceparent that is not valid', () => {
    assert.equal(trace.getSpanContext(publishContext({ traceparent: 'garbage' }, active)), undefined);
  });
});
