import { z } from 'zod';
import { int64ToNumber, isoTime, type BankAccount, type Card, type Topup } from '../downstream-clients.js';
import { ApiError } from '../http/api-error.js';
import { httpStatusOf, type ErrorCode } from '../http/error-status.js';
import type { RouteResult } from '../http/request-scope.js';

/**
 * `POST /v1/users/{userId}/bank-accounts`. Only the types are checked here: whether the code and
 * number are well formed is bank-integration's call (`422 invalid_bank_account`).
 */
export const bankAccountBody = z.object({
  bankCode: z.string(),
  accountNumber: z.string(),
});

/**
 * `POST /v1/users/{userId}/cards`. Only the types are checked here; the issuer (bank-integration)
 * judges the number, expiry and CVC. A problem is described by its kind only — zod's messages
 * for these checks never quote the value — so no card number or CVC is echoed back or logged.
 * Numbers and CVCs are strings: as JSON numbers they would lose leading zeros.
 */
export const cardBody = z.object({
  number: z.string(),
  expMonth: z.number().int(),
  expYear: z.number().int(),
  cvc: z.string(),
});

const id = z.string().min(1, 'must not be empty');

/** `POST /v1/topups`: from a linked bank account or a registered card, exactly one of them. */
export const topupBody = z.object({
  userId: id,
  amount: z.number(),
  currency: z.string(),
  source: z
    .object({ bankAccountId: id.optional(), cardId: id.optional() })
    .refine((source) => (source.bankAccountId === undefined) !== (source.cardId === undefined), {
      message: 'must name exactly one of bankAccountId and cardId',
    }),
});

export type TopupBody = z.infer<typeof topupBody>;

/** The card brands as the API names them (the proto's zero value never reaches a client). */
const brands: Readonly<Record<Card['brand'], string>> = {
  CARD_BRAND_UNSPECIFIED: 'other',
  CARD_BRAND_VISA: 'visa',
  CARD_BRAND_MASTERCARD: 'mastercard',
  CARD_BRAND_JCB: 'jcb',
  CARD_BRAND_AMEX: 'amex',
  CARD_BRAND_OTHER: 'other',
};

const topupStatuses: Readonly<Record<Topup['status'], string>> = {
  TOPUP_STATUS_UNSPECIFIED: 'PROCESSING',
  TOPUP_STATUS_PROCESSING: 'PROCESSING',
  TOPUP_STATUS_COMPLETED: 'COMPLETED',
  TOPUP_STATUS_FAILED: 'FAILED',
};

/** Why a top-up failed, as the API answers it: the code (so the HTTP status), reason, message. */
interface Failure {
  code: ErrorCode;
  reason: string;
  message: string;
}

const failures: Readonly<Record<Topup['failureReason'], Failure>> = {
  TOPUP_FAILURE_REASON_UNSPECIFIED: {
    code: 'bank_declined',
    reason: 'bank_declined',
    message: 'the top-up failed; nothing was credited',
  },
  TOPUP_FAILURE_REASON_BANK_DECLINED: {
    code: 'bank_declined',
    reason: 'bank_declined',
    message: 'the bank declined the debit; nothing was credited',
  },
  TOPUP_FAILURE_REASON_CARD_DECLINED: {
    code: 'card_declined',
    reason: 'card_declined',
    message: 'the card was declined; nothing was credited',
  },
  TOPUP_FAILURE_REASON_CARD_EXPIRED: {
    code: 'card_expired',
    reason: 'card_expired',
    message: 'the card has expired; nothing was credited',
  },
  TOPUP_FAILURE_REASON_ACCOUNT_LOCKED: {
    code: 'account_locked',
    reason: 'account_locked',
    message: 'card operations are locked for this account; nothing was credited',
  },
  // Final, like a decline: the bank never settled it and retrying gave up.
  TOPUP_FAILURE_REASON_TIMED_OUT: {
    code: 'bank_declined',
    reason: 'timed_out',
    message: 'the bank did not settle the top-up in time; nothing was credited',
  },
};

export function bankAccountView(account: BankAccount) {
  return {
    bankAccountId: account.bankAccountId,
    bankCode: account.bankCode,
    accountNumberLast4: account.accountNumberLast4,
    createdAt: isoTime(account.createdAt) ?? null,
  };
}

/** Only what identifies a card to its owner: never its number, never a CVC. */
export function cardView(card: Card) {
  return {
    cardId: card.cardId,
    brand: brands[card.brand],
    last4: card.last4,
    expMonth: card.expMonth,
    expYear: card.expYear,
    createdAt: isoTime(card.createdAt) ?? null,
  };
}

export function topupView(topup: Topup) {
  const failed = topup.status === 'TOPUP_STATUS_FAILED';
  return {
    topupId: topup.topupId,
    status: topupStatuses[topup.status],
    amount: int64ToNumber(topup.amount),
    currency: topup.currency,
    userId: topup.userId,
    source:
      topup.source === 'cardId'
        ? { cardId: topup.cardId ?? '' }
        : { bankAccountId: topup.bankAccountId ?? '' },
    ...(failed ? { failureReason: failures[topup.failureReason].reason } : {}),
    createdAt: isoTime(topup.createdAt) ?? null,
    finishedAt: isoTime(topup.finishedAt) ?? null,
  };
}

/**
 * The answer to a top-up payment recorded (API.md): `201` while COMPLETED or PROCESSING (the bank
 * degraded: finished later); FAILED is an error body whose code says why — `402 bank_declined`,
 * `402 card_declined`, `422 card_expired`, `423 account_locked` — with `details.reason` and
 * `details.topupId`. A replay answers the same, with `Idempotent-Replayed: true`.
 */
export function topupOutcome(topup: Topup, replayed: boolean): RouteResult {
  const headers: Record<string, string> = replayed ? { 'idempotent-replayed': 'true' } : {};
  const body = topupView(topup);
  if (topup.status === 'TOPUP_STATUS_FAILED') {
    const failure = failures[topup.failureReason];
    throw new ApiError(
      httpStatusOf[failure.code],
      failure.code,
      failure.message,
      { reason: failure.reason, topupId: topup.topupId },
      { headers },
    );
  }
  return { status: 201, body, headers };
}
