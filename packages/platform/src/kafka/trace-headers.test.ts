import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { decodeHeaders, extractTraceContext, headerValue, injectTraceHeaders } from './trace-headers.js';

const traceId = '0af7651916cd43dd8448eb211c80319c';
const spanId = 'b7ad6b7169203331';

void describe('headerValue', () => {
  void it('decodes a Buffer value as UTF-8 text', () => {
    assert.equal(headerValue({ 'event-id': Buffer.from('évènement-1') }, 'event-id'), 'évènement-1');
  });

  void it('takes the last value of a repeated header, as the Java client does', () => {
    assert.equal(headerValue({ 'event-id': [Buffer.from('first'), 'second'] }, 'event-id'), 'second');
  });

  void it('treats a missing or empty header as absent', () => {
    assert.equal(headerValue(undefined, 'event-id'), undefined);
    assert.equal(headerValue({}, 'event-id'), undefined);
    assert.equal(headerValue({ 'event-id': Buffer.alloc(0) }, 'event-id'), undefined);
    assert.equal(headerValue({ 'event-id': [] }, 'event-id'), undefined);
  });
});

void describe('decodeHeaders', () => {
  void it('returns every non-empty header as text', () => {
    assert.deepEqual(decodeHeaders({ a: Buffer.from('1'), b: '2', c: Buffer.alloc(0), d: undefined }), {
      a: '1',
      b: '2',
    });
  });
});

void describe('trace headers', () => {
  void it('writes W3C traceparent for a context with a span, with no SDK registered', () => {
    const ctx = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: 1 });
    assert.deepEqual(injectTraceHeaders(ctx, {}), { traceparent: `00-${traceId}-${spanId}-01` });
  });

  void it('writes nothing for a context without a span', () => {
    assert.deepEqual(injectTraceHeaders(ROOT_CONTEXT, { 'event-id': 'e' }), { 'event-id': 'e' });
  });

  void it('reads the producer span context back from Buffer headers as a remote parent', () => {
    const ctx = extractTraceContext({ traceparent: Buffer.from(`00-${traceId}-${spanId}-01`) });
    assert.deepEqual(trace.getSpanContext(ctx), { traceId, spanId, traceFlags: 1, isRemote: true });
  });

  void it('ignores a malformed traceparent', () => {
    assert.equal(trace.getSpanContext(extractTraceContext({ traceparent: 'not-a-trace' })), undefined);
    assert.equal(trace.getSpanContext(extractTraceContext(undefined)), undefined);
  });
});
