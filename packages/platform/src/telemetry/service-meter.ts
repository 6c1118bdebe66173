import { metrics, type Meter } from '@opentelemetry/api';

export type { Counter, Meter, ObservableGauge } from '@opentelemetry/api';

/**
 * The meter a service's own instruments are created on (`serviceMeter('koban-payment')`), from
 * the SDK started by the telemetry entry, so they are exported with the platform's. Before the
 * SDK starts (and in tests without one) it is a no-op meter.
 */
export function serviceMeter(scope: string): Meter {
  return metrics.getMeter(scope);
}
