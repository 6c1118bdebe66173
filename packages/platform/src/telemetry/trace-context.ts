import {
  ROOT_CONTEXT,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type AttributeValue,
  type Attributes,
} from '@opentelemetry/api';
import { RPCType, getRPCMetadata } from '@opentelemetry/core';

/** The trace id of the active span, or undefined outside of one. */
export function currentTraceId(): string | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

/**
 * Sets attributes on the active span: inside a gRPC handler, the call's server span. Used to make
 * a trace findable by a business id once it is known (`koban.payment.id`, see `pnpm trace`).
 * Does nothing outside a span.
 */
export function tagActiveSpan(attributes: Readonly<Record<string, AttributeValue>>): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

/**
 * The W3C `traceparent`/`tracestate` of the active span (inside a gRPC handler: the call's server
 * span), as the configured propagator writes them; empty outside a span. Stored with work that
 * finishes later (outbox rows, queued grants) so what continues it is a child of this span.
 */
export function activeTraceHeaders(): { traceparent?: string; tracestate?: string } {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  const headers: { traceparent?: string; tracestate?: string } = {};
  if (carrier.traceparent) headers.traceparent = carrier.traceparent;
  if (carrier.tracestate) headers.tracestate = carrier.tracestate;
  return headers;
}

/** A W3C trace context stored with queued work (null fields when there was none). */
export interface StoredTraceContext {
  traceparent: string | null | undefined;
  tracestate: string | null | undefined;
}

const tracer = trace.getTracer('@koban/platform/telemetry');

/**
 * Runs `fn` inside a new span that continues a stored trace context: work a request queued and a
 * worker does later (a deferred grant, a swept payment) stays in the request's trace, so
 * `pnpm trace` shows why it finished late. Without a stored context the span starts a new trace.
 * The span ends when `fn` settles and records its error.
 */
export async function inStoredTrace<T>(
  name: string,
  stored: StoredTraceContext,
  attributes: Attributes,
  fn: () => Promise<T>,
): Promise<T> {
  const carrier: Record<string, string> = {};
  if (stored.traceparent) carrier.traceparent = stored.traceparent;
  if (stored.tracestate) carrier.tracestate = stored.tracestate;
  const parent = propagation.extract(ROOT_CONTEXT, carrier);
  return tracer.startActiveSpan(name, { attributes }, parent, async (span) => {
    try {
      return await fn();
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * Tells the HTTP instrumentation the route template a request matched (`/v1/payments/:paymentId`):
 * its server span gets `http.route` and the semantic-convention name `{method} {route}` when the
 * response ends. Does nothing outside an instrumented HTTP request.
 */
export function setHttpRoute(route: string): void {
  const metadata = getRPCMetadata(context.active());
  if (metadata?.type === RPCType.HTTP) metadata.route = route;
}
