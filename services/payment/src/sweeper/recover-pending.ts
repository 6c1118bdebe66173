import type { LedgerPort } from '../downstream/ledger-port.js';
import { serviceUnavailable } from '../payment-errors.js';
import { recoveryStep, type RecoveryTimings } from './recovery.js';

/** What recovery needs to know about a PENDING payment, refund or P2P transfer. */
export interface PendingResource {
  ledgerTransferId: string;
  createdAt: Date;
  lastTransferAt: Date;
}

/** The three ways a recovery can end for a resource. */
export interface RecoveryActions<T> {
  /** The ledger applied the transfer: record the completion. */
  complete(): Promise<T>;
  /** Not applied, still within the deadline: send the same transfer again. */
  retryTransfer(): Promise<T>;
  /** Not applied, past the deadline and quiet: record the failure. */
  fail(): Promise<T>;
}

/**
 * Drives one PENDING resource by the recovery rule (recovery.ts), asking the ledger first
 * whether its transfer went through. Throws `service_unavailable` when the ledger cannot say,
 * or when it is too early to give up: the resource stays PENDING for a later look.
 */
export async function recoverPending<T>(
  resource: PendingResource,
  deps: { ledger: LedgerPort; timings: RecoveryTimings; now: () => Date },
  actions: RecoveryActions<T>,
): Promise<T> {
  const applied = await deps.ledger.transferApplied(resource.ledgerTransferId);
  const now = deps.now().getTime();
  const step = recoveryStep({
    transferApplied: applied,
    ageMs: now - resource.createdAt.getTime(),
    sinceLastTransferMs: now - resource.lastTransferAt.getTime(),
    retryDeadlineMs: deps.timings.retryDeadlineMs,
    failQuietMs: deps.timings.failQuietMs,
  });
  switch (step) {
    case 'complete':
      return actions.complete();
    case 'retry_transfer':
      return actions.retryTransfer();
    case 'fail':
      return actions.fail();
    case 'wait':
      throw serviceUnavailable();
  }
}
