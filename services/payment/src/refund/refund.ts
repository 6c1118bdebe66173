import { randomBytes } from 'node:crypto';
import { checkScope, requestHash, type IdempotencyScope } from '../idempotency/idempotency.js';
import { checkAmount, type CURRENCY } from '../money.js';
import { PaymentError, invalidRequest } from '../payment-errors.js';
import type { TraceContext } from '../tracing/trace-context.js';

/**
 * A refund of part or all of a completed payment, from the merchant back to the payer's wallet:
 *
 *   PENDING ──ledger applied the transfer──▶ COMPLETED (+ PaymentRefunded in the outbox)
 *      └──ledger refused it (merchant short of funds), or abandoned by the sweeper──▶ FAILED
 *
 * Created under a lock on the payment row, its amount is reserved on the payment at once, so
 * concurrent refunds can never add up to more than was paid; a FAILED refund gives its
 * reservation back. Its ledger transfer id is `refund_<refundId>`.
 *
 * Cashback granted on the refunded share is clawed back once the refund is COMPLETED: the
 * completion records the exact totals (under the payment's lock) in PaymentRefunded, then
 * campaign-promo's ClawbackCashback is asked with them (idempotent by refund id). When it does
 * not answer in time the clawback stays DEFERRED: campaign-promo claws back from the
 * PaymentRefunded event instead, exactly once.
 */
export type RefundStatus = 'PENDING' | 'COMPLETED' | 'FAILED';

/**
 * NONE: the payment had no cashback (or the refund failed). DEFERRED: cashback may be owed back
 * and campaign-promo has not confirmed the clawback (it will, from PaymentRefunded).
 * CLAWED_BACK: campaign-promo answered; `clawedBackPoints` holds the points.
 */
export type ClawbackStatus = 'NONE' | 'DEFERRED' | 'CLAWED_BACK';

/** Whether a refund of a payment with this cashback status may have points to claw back. */
export function clawbackOwed(paymentCashbackStatus: string): ClawbackStatus {
  return paymentCashbackStatus === 'GRANTED' || paymentCashbackStatus === 'PENDING' ? 'DEFERRED' : 'NONE';
}

export interface Refund {
  refundId: string;
  paymentId: string;
  idempotency: IdempotencyScope;
  merchantId: string;
  merchantAccountId: string;
  payerUserId: string;
  payerAccountId: string;
  amount: number;
  currency: typeof CURRENCY;
  status: RefundStatus;
  ledgerTransferId: string;
  clawbackStatus: ClawbackStatus;
  /** Points campaign-promo took back for this refund; 0 unless CLAWED_BACK. */
  clawedBackPoints: number;
  trace: TraceContext | null;
  createdAt: Date;
  finishedAt: Date | null;
  lastTransferAt: Date;
}

export interface RefundCommand {
  scope: IdempotencyScope;
  requestHash: string;
  paymentId: string;
  /** Undefined refunds all that is left. */
  amount: number | undefined;
  trace: TraceContext | null;
}

export interface RefundRequest {
  idempotencyKey: string;
  callerId: string;
  paymentId: string;
  /** int64 as a decimal string; '0' for all that is left. */
  amount: string;
  trace: TraceContext | null;
}

export function checkRefundRequest(request: RefundRequest): RefundCommand {
  const scope = checkScope(request.callerId, request.idempotencyKey);
  if (request.paymentId === '') throw invalidRequest({ paymentId: 'required' });
  return {
    scope,
    requestHash: requestHash('CreateRefund', { paymentId: request.paymentId, amount: request.amount }),
    paymentId: request.paymentId,
    amount: request.amount === '0' ? undefined : checkAmount(request.amount),
    trace: request.trace,
  };
}

/** What a payment allows refunding, read under its row lock. */
export interface RefundablePayment {
  status: string;
  amount: number;
  /** Refunds completed or still pending. */
  reservedAmount: number;
}

/** The amount to refund, or `refund_exceeds_payment` with what is still refundable. */
export function refundAmount(payment: RefundablePayment, requested: number | undefined): number {
  const refundable =
    payment.status === 'COMPLETED' ? Math.max(0, payment.amount - payment.reservedAmount) : 0;
  const amount = requested ?? refundable;
  if (amount < 1 || amount > refundable) {
    throw new PaymentError('refund_exceeds_payment', `at most ${refundable} can be refunded`, { refundable });
  }
  return amount;
}

export function newRefundId(): string {
  return `rfd_${randomBytes(12).toString('hex')}`;
}

/** The ledger transfer id of a refund: derived from it, so every attempt is the same transfer. */
export function refundTransferId(refundId: string): string {
  return `refund_${refundId}`;
}

/** Whether `callerId` may see a refund: the payment's payee or payer. */
export function canSeeRefund(refund: Pick<Refund, 'merchantId' | 'payerUserId'>, callerId: string): boolean {
  return callerId === refund.merchantId || callerId === refund.payerUserId;
}
