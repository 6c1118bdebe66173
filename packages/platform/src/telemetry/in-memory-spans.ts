import { context, type Attributes, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** A finished span as a test reads it back. */
export interface RecordedSpan {
  name: string;
  attributes: Attributes;
}

/** A tracer whose finished spans a test can read back (see {@link createInMemorySpans}). */
export interface InMemorySpans {
  /** Runs `fn` inside an active span named `name`, ended when `fn` settles. */
  inSpan<T>(name: string, fn: (span: Span) => T | Promise<T>): Promise<T>;
  /** The spans ended so far, oldest first. */
  finished(): RecordedSpan[];
  shutdown(): Promise<void>;
}

/**
 * A real SDK tracer with an in-memory exporter, for tests of code that reads or tags the active
 * span. It is not registered globally; only the context manager is (when none is yet), so that
 * the span `inSpan` starts is the active one in everything `fn` awaits.
 */
export function createInMemorySpans(): InMemorySpans {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('test');
  return {
    inSpan: (name, fn) =>
      tracer.startActiveSpan(name, async (span) => {
        try {
          return await fn(span);
        } finally {
          span.end();
        }
      }),
    finished: () =>
      exporter.getFinishedSpans().map((span) => ({ name: span.name, attributes: span.attributes })),
    shutdown: () => provider.shutdown(),
  };
}
