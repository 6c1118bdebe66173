import { randomBytes } from 'node:crypto';
import type { ChargeDecline, ChargeSource } from '../downstream/bank-port.js';
import type { SettlementAccount } from '../downstream/ledger-port.js';
import { checkScope, requestHash, type IdempotencyScope } from '../idempotency/idempotency.js';
import { checkAmount, checkCurrency, type CURRENCY } from '../money.js';
import { invalidRequest, notFound } from '../payment-errors.js';
import type { TraceContext } from '../tracing/trace-context.js';

/**
 * A top-up of a user's wallet from a linked bank account or a registered card:
 *
 *   PROCESSING ──charge APPROVED, ledger credited──▶ COMPLETED (+ TopupCompleted in the outbox)
 *       └──charge DECLINED, or never charged by the deadline──▶ FAILED (+ TopupFailed)
 *
 * It is created PROCESSING with the bank-integration charge id and the ledger transfer id it
 * will use (both `topup_<topupId>`), so every attempt — the request's, the retrier's — is the
 * same charge and the same credit, each applied at most once. The wallet is credited from
 * `bank-settlement` or `card-settlement` only once the bank or issuer APPROVED the charge; an
 * approved charge is never abandoned. While bank-integration (or the ledger) does not answer,
 * the top-up answers PROCESSING at once and the sweeper finishes it. The first answer is what
 * its idempotency key replays.
 */
export type TopupStatus = 'PROCESSING' | 'COMPLETED' | 'FAILED';
export type TopupFailureReason = ChargeDecline | 'TIMED_OUT';

export interface Topup {
  topupId: string;
  idempotency: IdempotencyScope;
  userId: string;
  /** The wallet credited. */
  accountId: string;
  /** The system account the money enters through: bank-settlement or card-settlement. */
  settlementAccountId: string;
  amount: number;
  currency: typeof CURRENCY;
  source: ChargeSource;
  clientIp: string;
  status: TopupStatus;
  failureReason: TopupFailureReason | null;
  chargeId: string;
  ledgerTransferId: string;
  trace: TraceContext | null;
  createdAt: Date;
  finishedAt: Date | null;
  /** When a charge or the credit was last sent (the TIMED_OUT rule counts quiet time from it). */
  lastTransferAt: Date;
}

/** A CreateTopup request that passed every check that needs no I/O. */
export interface TopupCommand {
  scope: IdempotencyScope;
  requestHash: string;
  userId: string;
  amount: number;
  source: ChargeSource;
  clientIp: string;
  trace: TraceContext | null;
}

/** CreateTopup as it arrives, transport aside. */
export interface TopupRequest {
  idempotencyKey: string;
  callerId: string;
  userId: string;
  /** int64 as a decimal string. */
  amount: string;
  currency: string;
  bankAccountId: string | undefined;
  cardId: string | undefined;
  clientIp: string;
  trace: TraceContext | null;
}

/** The checks that need no I/O: key, user (the caller's own wallet only), source, currency, amount. */
export function checkTopupRequest(request: TopupRequest): TopupCommand {
  const scope = checkScope(request.callerId, request.idempotencyKey);
  if (request.userId === '') throw invalidRequest({ userId: 'required' });
  // Topping up someone else's wallet answers as if that wallet did not exist.
  if (request.userId !== request.callerId) throw notFound('user');
  const source: ChargeSource | undefined =
    request.bankAccountId !== undefined && request.bankAccountId !== ''
      ? { kind: 'bank_account', bankAccountId: request.bankAccountId }
      : request.cardId !== undefined && request.cardId !== ''
        ? { kind: 'card', cardId: request.cardId }
        : undefined;
  if (source === undefined) throw invalidRequest({ source: 'give bankAccountId or cardId' });
  checkCurrency(request.currency);
  const amount = checkAmount(request.amount);
  return {
    scope,
    requestHash: requestHash('CreateTopup', {
      userId: request.userId,
      amount: request.amount,
      currency: request.currency,
      source: source.kind === 'card' ? `card:${source.cardId}` : `bank:${source.bankAccountId}`,
    }),
    userId: request.userId,
    amount,
    source,
    clientIp: request.clientIp,
    trace: request.trace,
  };
}

/** A new top-up id (opaque, random: no write hot spot in TiDB). */
export function newTopupId(): string {
  return `top_${randomBytes(12).toString('hex')}`;
}

/** The charge id and the ledger transfer id of a top-up: derived from it, so every attempt is the same. */
export function topupChargeId(topupId: string): string {
  return `topup_${topupId}`;
}
export function topupTransferId(topupId: string): string {
  return `topup_${topupId}`;
}

/** Which settlement account a source's money enters through. */
export function settlementAccountOf(source: ChargeSource): SettlementAccount {
  return source.kind === 'card' ? 'card-settlement' : 'bank-settlement';
}

/** Whether `callerId` may see the top-up: its user only. */
export function canSeeTopup(topup: Pick<Topup, 'userId'>, callerId: string): boolean {
  return callerId === topup.userId;
}

/** A top-up that reached a final state at `at`. */
export function finishTopup(
  topup: Topup,
  outcome: { status: 'COMPLETED' } | { status: 'FAILED'; reason: TopupFailureReason },
  at: Date,
): Topup {
  return {
    ...topup,
    status: outcome.status,
    failureReason: outcome.status === 'FAILED' ? outcome.reason : null,
    finishedAt: at,
  };
}

/**
 * The failure a refusal of a re-sent charge stands for (the retrier's case), or undefined when
 * it is worth asking again later (a throttle). A refusal of a source that is gone is the
 * source's refusal: a bank or a card decline.
 */
export function refusalFailure(code: string, source: ChargeSource): TopupFailureReason | undefined {
  switch (code) {
    case 'rate_limited':
    case 'service_unavailable':
      return undefined;
    case 'account_locked':
      return 'ACCOUNT_LOCKED';
    case 'card_expired':
      return 'CARD_EXPIRED';
    case 'card_declined':
    case 'invalid_cvc':
      return 'CARD_DECLINED';
    default:
      return source.kind === 'card' ? 'CARD_DECLINED' : 'BANK_DECLINED';
  }
}

/** The TopupFailed `reason`: the API's snake_case words. */
export function failureReasonText(reason: TopupFailureReason): string {
  return reason.toLowerCase();
}
