export { startTelemetry, shutdownTelemetry } from './telemetry.js';
export type { TelemetrySettings } from './telemetry.js';
export {
  activeTraceHeaders,
  currentTraceId,
  inStoredTrace,
  setHttpRoute,
  tagActiveSpan,
} from './trace-context.js';
export type { StoredTraceContext } from './trace-context.js';
export { FileSpanExporter } from './file-span-exporter.js';
export { createInMemoryMetrics } from './in-memory-metrics.js';
export type { InMemoryMetrics, MetricPoint } from './in-memory-metrics.js';
export { serviceMeter } from './service-meter.js';
export type { Counter, Meter, ObservableGauge } from './service-meter.js';
export { PAYMENT_ID_ATTRIBUTE } from './waterfall.js';
export { createInMemorySpans } from './in-memory-spans.js';
export type { InMemorySpans, RecordedSpan } from './in-memory-spans.js';
