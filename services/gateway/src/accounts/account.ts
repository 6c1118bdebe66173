import { z } from 'zod';
import { int64ToNumber, isoTime, type LedgerBalance, type LedgerEntry } from '../downstream-clients.js';

/** A balance as the gateway shows it and keeps it for the fallback. */
export interface BalanceFigure {
  accountId: string;
  currency: string;
  available: number;
  /** ISO-8601: when the figure was true. */
  asOf: string;
  /** Grows with every change to the account: of two figures, the higher version is newer. */
  version: string;
  /** The ledger answered from its own cache (its database was unreachable). */
  stale: boolean;
}

export function balanceFigure(balance: LedgerBalance, now: Date = new Date()): BalanceFigure {
  return {
    accountId: balance.accountId,
    currency: balance.currency,
    available: int64ToNumber(balance.available),
    asOf: isoTime(balance.asOf) ?? now.toISOString(),
    version: balance.version,
    stale: balance.stale,
  };
}

/** The earliest of the figures' times: the whole answer was true at least then. */
function oldestAsOf(figures: readonly BalanceFigure[]): string {
  return figures.map((figure) => figure.asOf).reduce((a, b) => (a < b ? a : b));
}

/** `GET /v1/users/{userId}/balance`: the wallet (JPY) and the points balance. */
export function userBalanceView(wallet: BalanceFigure, points: BalanceFigure, stale: boolean) {
  return {
    currency: wallet.currency,
    available: wallet.available,
    points: points.available,
    asOf: oldestAsOf([wallet, points]),
    stale: stale || wallet.stale || points.stale,
  };
}

/** `GET /v1/merchants/{merchantId}/balance`. */
export function merchantBalanceView(account: BalanceFigure, stale: boolean) {
  return {
    currency: account.currency,
    available: account.available,
    asOf: account.asOf,
    stale: stale || account.stale,
  };
}

/** The API's word for why money moved. */
const transactionTypes: Readonly<Record<LedgerEntry['kind'], string>> = {
  TRANSFER_KIND_UNSPECIFIED: 'OTHER',
  TRANSFER_KIND_PAYMENT: 'PAYMENT',
  TRANSFER_KIND_PEER: 'TRANSFER',
  TRANSFER_KIND_TOPUP: 'TOPUP',
  TRANSFER_KIND_REFUND: 'REFUND',
  TRANSFER_KIND_CASHBACK: 'CASHBACK',
  TRANSFER_KIND_CASHBACK_CLAWBACK: 'CASHBACK_CLAWBACK',
  TRANSFER_KIND_ADJUSTMENT: 'ADJUSTMENT',
};

/**
 * One wallet entry as a transaction: `amount` is signed (positive credits the wallet, negative
 * debits it), `direction` says the same in words; `referenceId` is the payment, refund, transfer
 * or credit it belongs to.
 */
export function transactionItem(entry: LedgerEntry) {
  const amount = int64ToNumber(entry.amount);
  return {
    id: entry.entryId,
    type: transactionTypes[entry.kind],
    direction: amount < 0 ? 'DEBIT' : 'CREDIT',
    amount,
    currency: entry.currency,
    balanceAfter: int64ToNumber(entry.balanceAfter),
    description: entry.description,
    referenceId: entry.referenceId,
    transferId: entry.transferId,
    createdAt: isoTime(entry.createdAt) ?? null,
  };
}

/** `?limit=&cursor=` of the transaction history: 1–100 items (20 by default), an opaque cursor. */
export const transactionsQuery = z.object({
  limit: z.coerce
    .number({ error: 'must be a whole number from 1 to 100' })
    .int('must be a whole number from 1 to 100')
    .min(1, 'must be a whole number from 1 to 100')
    .max(100, 'must be a whole number from 1 to 100')
    .default(20),
  cursor: z.string().max(1024, 'must be at most 1024 characters').optional(),
});
