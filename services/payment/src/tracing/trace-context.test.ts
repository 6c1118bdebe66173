import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { traceContextFrom } from './trace-context.js';

void describe('traceContextFrom', () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  void it('keeps a well-formed traceparent and a tracestate', () => {
    assert.deepEqual(traceContextFrom(traceparent, 'k=v'), { traceparent, tracestate: 'k=v' });
    assert.deepEqual(traceContextFrom(traceparent, undefined), { traceparent, tracestate: null });
  });

  void it('drops a malformed traceparent, and a tracestate too long to store', () => {
    assert.equal(traceContextFrom('garbage', 'k=v'), null);
    assert.equal(traceContextFrom(undefined, undefined), null);
    assert.deepEqual(traceContextFrom(traceparent, 'x'.repeat(513)), { traceparent, tracestate: null });
  });
});
