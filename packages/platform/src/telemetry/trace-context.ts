import { trace, type AttributeValue } from '@opentelemetry/api';

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
