/**
 * What to do with a payment, refund or P2P transfer stuck in PENDING (its request died, or the
 * ledger did not answer). Pure: the sweeper and a retrying client both follow it.
 *
 * The ledger applies a transfer id at most once, so asking again with the same id is always
 * safe; the only question is when to stop asking. Until `retryDeadlineMs` after creation the
 * transfer is sent again; after it, the resource is abandoned (FAILED) once the ledger says the
 * transfer does not exist and no attempt has been sent for `failQuietMs` — long enough that no
 * attempt can still be in flight inside the ledger.
 */
export type RecoveryStep = 'complete' | 'retry_transfer' | 'fail' | 'wait';

export interface RecoveryFacts {
  /** Whether the ledger has applied the resource's transfer id. */
  transferApplied: boolean;
  /** Time since the resource was created. */
  ageMs: number;
  /** Time since a transfer was last sent for it. */
  sinceLastTransferMs: number;
  retryDeadlineMs: number;
  failQuietMs: number;
}

export function recoveryStep(facts: RecoveryFacts): RecoveryStep {
  if (facts.transferApplied) return 'complete';
  if (facts.ageMs < facts.retryDeadlineMs) return 'retry_transfer';
  if (facts.sinceLastTransferMs >= facts.failQuietMs) return 'fail';
  return 'wait';
}

/**
 * When the sweeper looks at a resource again after its `attempts`-th look: exponential from
 * `baseMs`, capped at a minute, so a long ledger outage is not hammered.
 */
export function sweepBackoffMs(attempts: number, baseMs: number): number {
  return Math.min(60_000, baseMs * 2 ** Math.min(Math.max(attempts, 0), 16));
}

/** The timings a recovery needs, from config. */
export interface RecoveryTimings {
  retryDeadlineMs: number;
  failQuietMs: number;
  /** Base of the sweeper's backoff between looks at one resource. */
  sweepBackoffBaseMs: number;
  /** A new resource is left to its request for this long before the sweeper may touch it. */
  minAgeMs: number;
}

/**
 * How long a sweep's claim keeps other sweepers off its rows. Every claimed row is finished or
 * postponed explicitly as it is handled; the hold only matters when a sweeper dies mid-batch.
 */
export const SWEEP_CLAIM_HOLD_MS = 60_000;
