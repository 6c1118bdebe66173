/**
 * The W3C trace context of the request that created a payment, refund or transfer. It is stored
 * with the resource and written into every outbox row about it, so that consumers continue the
 * request's trace even when the sweeper, not the request, completes the resource.
 */
export interface TraceContext {
  traceparent: string;
  tracestate: string | null;
}

const traceparentPattern = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const maxTracestateLength = 512;

/**
 * The trace context carried by a call's `traceparent`/`tracestate` metadata (the gRPC
 * instrumentation and any W3C client send them), or null when absent or malformed.
 */
export function traceContextFrom(traceparent: unknown, tracestate: unknown): TraceContext | null {
  if (typeof traceparent !== 'string' || !traceparentPattern.test(traceparent)) return null;
  const state =
    typeof tracestate === 'string' && tracestate.length > 0 && tracestate.length <= maxTracestateLength
      ? tracestate
      : null;
  return { traceparent, tracestate: state };
}
