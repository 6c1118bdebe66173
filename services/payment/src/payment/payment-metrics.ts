import type { Counter, Meter } from '@koban/platform';
import type { Payment } from './payment.js';

/** The payment SLI: payments per second by method and outcome. */
export interface PaymentMetrics {
  /** A payment reached its final state (recorded by this process, exactly once per payment). */
  finished(payment: Pick<Payment, 'method' | 'status'>): void;
}

// One counter per meter: the payment service and tests share instruments, not names.
const byMeter = new WeakMap<Meter, Counter>();

/**
 * `koban.payments` (Prometheus `koban_payments_total`) with attributes `method` (WALLET, CARD)
 * and `status` (COMPLETED, DECLINED, FAILED). Counted where the final state is written, by the
 * driver that won the write: never again for an idempotent replay, a retry that finds the
 * payment finished, or the sweeper losing a race to the request.
 */
export function paymentMetrics(meter: Meter): PaymentMetrics {
  let counter = byMeter.get(meter);
  if (counter === undefined) {
    counter = meter.createCounter('koban.payments', {
      description: 'Payments that reached their final state, by method and status',
      unit: '{payment}',
    });
    byMeter.set(meter, counter);
  }
  const payments = counter;
  return {
    finished({ method, status }) {
      payments.add(1, { method, status });
    },
  };
}
