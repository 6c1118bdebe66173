import { createHash } from 'node:crypto';
import { z } from 'zod';

/** `POST /v1/admin/credits`: fund a user's wallet from the system funding account. */
export const creditBody = z.object({
  userId: z.string().min(1, 'must not be empty'),
  amount: z.number(),
  currency: z.string(),
});

/** The ledger account credits are drawn from: the platform's, allowed to go below zero. */
export const fundingAccount = {
  ownerType: 'OWNER_TYPE_SYSTEM',
  ownerId: 'funding',
  kind: 'ACCOUNT_KIND_SETTLEMENT',
  currency: 'JPY',
  overdraftAllowed: true,
} as const;

/**
 * The ledger transfer id of a credit, derived from the admin's `Idempotency-Key` (keys are
 * scoped to the caller, here the admin): the ledger applies a transfer id at most once, so a
 * retried credit moves money once, and the same key with another body is `transfer_id_reused`.
 */
export function creditTransferId(idempotencyKey: string): string {
  return `credit_${createHash('sha256').update(`admin|${idempotencyKey}`, 'utf8').digest('hex')}`;
}
