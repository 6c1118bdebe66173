import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createInMemorySpans } from './in-memory-spans.js';
import { currentTraceId, tagActiveSpan } from './trace-context.js';
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
