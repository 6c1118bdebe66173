/** Exponential backoff between attempts of background work. */
export interface Backoff {
  /** Delay after the first failed attempt. */
  initialMs: number;
  /** Cap on any one delay. */
  maxMs: number;
}

/**
 * Delay after `failedAttempts` failures (1-based): doubling from `initialMs`, capped at `maxMs`,
 * less up to a fifth of jitter so that work failed together is not retried in lockstep.
 */
export function backoffDelayMs(
  failedAttempts: number,
  backoff: Backoff,
  random: () => number = Math.random,
): number {
  const exponential = backoff.initialMs * 2 ** Math.min(30, Math.max(0, failedAttempts - 1));
  const capped = Math.min(Math.max(backoff.maxMs, backoff.initialMs), exponential);
  return Math.max(1, Math.round(capped * (0.8 + 0.2 * random())));
}
