import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createInMemorySpans } from './in-memory-spans.js';
import { propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { activeTraceHeaders, currentTraceId, inStoredTrace, tagActiveSpan } from './trace-context.js';
import { PAYMENT_ID_ATTRIBUTE } from './waterfall.js';

test('tagActiveSpan sets attributes on the span active where it is called, after awaits too', async () => {
  const spans = createInMemorySpans();
  const traceId = await spans.inSpan('koban.payment.v1.PaymentService/CreatePayment', async () => {
    await new Promise((resolve) => setImmediate(resolve));
    tagActiveSpan({ [PAYMENT_ID_ATTRIBUTE]: 'pmt_1' });
    return currentTraceId();
  });
  const [span] = spans.finished();
  assert.equal(span?.attributes[PAYMENT_ID_ATTRIBUTE], 'pmt_1');
  assert.match(traceId ?? '', /^[0-9a-f]{32}$/);
  await spans.shutdown();
});

test('outside a span tagActiveSpan does nothing and there is no trace id', () => {
  assert.doesNotThrow(() => tagActiveSpan({ [PAYMENT_ID_ATTRIBUTE]: 'pmt_2' }));
  assert.equal(currentTraceId(), undefined);
});

test('activeTraceHeaders names the active span as the parent, and is empty outside a span', async () => {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  try {
    assert.deepEqual(activeTraceHeaders(), {});
    const spans = createInMemorySpans();
    const { headers, traceId, spanId } = await spans.inSpan(
      'koban.payment.v1.PaymentService/CreatePayment',
      (span) => Promise.resolve({ headers: activeTraceHeaders(), ...span.spanContext() }),
    );
    assert.equal(headers.traceparent, `00-${traceId}-${spanId}-01`);
    await spans.shutdown();
  } finally {
    propagation.disable();
  }
});

test('inStoredTrace continues the stored trace in a new span, and starts one without it', async () => {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  try {
    const stored = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const traceId = await inStoredTrace(
      'cashback.retry-queue grant',
      { traceparent: stored, tracestate: null },
      {},
      () => Promise.resolve(currentTraceId()),
    );
    // No SDK is registered here: the span is non-recording but still carries the stored context.
    assert.equal(traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    await assert.rejects(
      inStoredTrace('failing', { traceparent: null, tracestate: null }, {}, () =>
        Promise.reject(new Error('boom')),
      ),
      /boom/,
    );
  } finally {
    propagation.disable();
  }
});
