import type { Counter, Meter } from '@koban/platform';
import type { SubjectType } from './lockout.js';

/** The lockout signal: how often users, cards and client IPs get locked. */
export interface LockoutMetrics {
  /** A new lock was set on a subject (not an existing lock seen again). */
  locked(subjectType: SubjectType): void;
}

// One counter per meter: every lockout service of the process shares it.
const byMeter = new WeakMap<Meter, Counter>();

/**
 * `koban.fraud.lockouts` (Prometheus `koban_fraud_lockouts_total`) with attribute
 * `subject_type`: `user` and `card` for the wrong-CVC lockouts, `ip` for the client-IP throttle.
 * A surge is credential stuffing or card testing under way.
 */
export function lockoutMetrics(meter: Meter): LockoutMetrics {
  let counter = byMeter.get(meter);
  if (counter === undefined) {
    counter = meter.createCounter('koban.fraud.lockouts', {
      description: 'Locks set after repeated card-check failures, by subject (user, card, ip)',
      unit: '{lock}',
    });
    byMeter.set(meter, counter);
  }
  const lockouts = counter;
  return {
    locked(subjectType) {
      lockouts.add(1, { subject_type: subjectType });
    },
  };
}
