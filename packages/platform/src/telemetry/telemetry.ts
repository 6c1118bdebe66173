import { NodeSDK } from '@opentelemetry/sdk-node';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { MySQL2Instrumentation } from '@opentelemetry/instrumentation-mysql2';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { PeriodicExportingMetricReader, type MetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { FileSpanExporter } from './file-span-exporter.js';
import { withFreshGauges } from './fresh-gauges.js';

export interface TelemetrySettings {
  /** Environment to read the standard `OTEL_*` variables and `METRICS_PORT` from. */
  env?: Record<string, string | undefined>;
  /** Extra span processors (tests and the local span sink add theirs here). */
  spanProcessors?: SpanProcessor[];
}

let running: NodeSDK | undefined;

function otlpConfigured(env: Record<string, string | undefined>, signal: 'TRACES' | 'METRICS'): boolean {
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`]);
}

/**
 * Starts the OpenTelemetry NodeSDK once per process, before the application's modules load
 * (see `register.ts`). The standard `OTEL_*` variables are honoured by the SDK and exporters
 * themselves (`OTEL_SERVICE_NAME`, `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_TRACES_SAMPLER`, ...).
 *
 * A tracer provider is always installed, even with nothing to export to, because trace ids are
 * part of the product: every HTTP response carries `X-Trace-Id` and every log line `trace_id`.
 */
export function startTelemetry(settings: TelemetrySettings = {}): NodeSDK {
  if (running) return running;
  const env = settings.env ?? process.env;

  const spanProcessors: SpanProcessor[] = [...(settings.spanProcessors ?? [])];
  if (otlpConfigured(env, 'TRACES') && env.OTEL_TRACES_EXPORTER !== 'none') {
    spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter()));
  }
  // A local span sink (not an OTEL_* variable): OTLP/JSON lines, as the collector's file exporter.
  if (env.OTEL_SPANS_FILE) {
    spanProcessors.push(new BatchSpanProcessor(new FileSpanExporter(env.OTEL_SPANS_FILE)));
  }
  if (spanProcessors.length === 0) spanProcessors.push(new NoopSpanProcessor());

  const metricReaders: MetricReader[] = [];
  const metricsPort = Number(env.METRICS_PORT ?? '0');
  if (Number.isInteger(metricsPort) && metricsPort > 0) {
    metricReaders.push(
      withFreshGauges(new PrometheusExporter({ port: metricsPort, host: env.METRICS_HOST ?? '0.0.0.0' })),
    );
  }
  if (otlpConfigured(env, 'METRICS') && env.OTEL_METRICS_EXPORTER !== 'none') {
    metricReaders.push(
      withFreshGauges(new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter() })),
    );
  }

  const sdk = new NodeSDK({
    spanProcessors,
    metricReaders,
    instrumentations: [
      new HttpInstrumentation(),
      new GrpcInstrumentation(),
      // Statements go into spans with their values masked: bound values may be personal data.
      new MySQL2Instrumentation({ maskStatement: true }),
      new IORedisInstrumentation(),
      new KafkaJsInstrumentation(),
      // Correlation only: trace_id/span_id on every line; lines themselves go to stdout.
      new PinoInstrumentation({ disableLogSending: true }),
    ],
  });
  sdk.start();
  running = sdk;
  return sdk;
}

/** Flushes and stops telemetry; the last step of a graceful shutdown. Safe to call when not started. */
export async function shutdownTelemetry(): Promise<void> {
  const sdk = running;
  running = undefined;
  if (sdk) await sdk.shutdown();
}
