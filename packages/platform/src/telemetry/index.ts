export { startTelemetry, shutdownTelemetry } from './telemetry.js';
export type { TelemetrySettings } from './telemetry.js';
export { currentTraceId } from './trace-context.js';
export { FileSpanExporter } from './file-span-exporter.js';
export { createInMemoryMetrics } from './in-memory-metrics.js';
export type { InMemoryMetrics, MetricPoint } from './in-memory-metrics.js';
