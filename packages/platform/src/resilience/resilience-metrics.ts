import type { Counter, Meter, ObservableGauge } from '@opentelemetry/api';

/** The OpenTelemetry instruments every dependency policy reports to. */
export interface ResilienceInstruments {
  /** 0 closed, 1 half-open, 2 open; attributes `caller`, `callee`. */
  breakerState: ObservableGauge;
  /** Breaker state changes; attributes `caller`, `callee`, `to`. */
  transitions: Counter;
  /** Calls refused by an open breaker; attributes `caller`, `callee`. */
  rejections: Counter;
  /** Fallbacks used; attributes `caller`, `callee`, `reason`. */
  fallbacks: Counter;
  /** Retried attempts; attributes `caller`, `callee`. */
  retries: Counter;
  /** Attempts cut by the timeout; attributes `caller`, `callee`. */
  timeouts: Counter;
}

// Instruments are created once per meter: every policy of the process shares them and adds its
// own gauge callback, instead of registering the same instrument names again.
const byMeter = new WeakMap<Meter, ResilienceInstruments>();

/** The resilience instruments of `meter`, created on first use. */
export function resilienceInstruments(meter: Meter): ResilienceInstruments {
  let instruments = byMeter.get(meter);
  if (instruments === undefined) {
    instruments = {
      breakerState: meter.createObservableGauge('koban.breaker.state', {
        description: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
      }),
      transitions: meter.createCounter('koban.breaker.transitions', {
        description: 'Circuit breaker state changes, by target state',
        unit: '{transition}',
      }),
      rejections: meter.createCounter('koban.breaker.rejections', {
        description: 'Calls refused without being attempted because the breaker was open',
        unit: '{call}',
      }),
      fallbacks: meter.createCounter('koban.resilience.fallbacks', {
        description: 'Calls answered by their fallback, by reason',
        unit: '{call}',
      }),
      retries: meter.createCounter('koban.resilience.retries', {
        description: 'Attempts retried after a failure (idempotent calls only)',
        unit: '{attempt}',
      }),
      timeouts: meter.createCounter('koban.resilience.timeouts', {
        description: 'Attempts cancelled by the per-attempt timeout',
        unit: '{attempt}',
      }),
    };
    byMeter.set(meter, instruments);
  }
  return instruments;
}
