import { z } from 'zod';
import {
  int64ToNumber,
  isoTime,
  type Payment,
  type QrCode,
  type Refund,
  type Transfer,
} from '../downstream-clients.js';
import { ApiError } from '../http/api-error.js';
import { httpStatusOf, type ErrorCode } from '../http/error-status.js';
import type { RouteResult } from '../http/request-scope.js';

/** `POST /v1/merchants/{merchantId}/qr-codes`: a dynamic code with `amount`, a static one without. */
export const qrCodeBody = z.object({
  amount: z.number().optional(),
  currency: z.string().optional(),
});

/** `POST /v1/payments`: pay a scanned QR payload, or a merchant by id with an amount. */
export const paymentBody = z
  .object({
    userId: z.string().min(1, 'must not be empty'),
    qrPayload: z.string().min(1, 'must not be empty').max(2048, 'must be at most 2048 characters').optional(),
    merchantId: z.string().min(1, 'must not be empty').optional(),
    amount: z.number().optional(),
    currency: z.string().optional(),
    method: z.enum(['wallet', 'card']).optional(),
    cardId: z.string().min(1, 'must not be empty').optional(),
  })
  .superRefine((body, ctx) => {
    const problem = (field: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [field], message });
    if (body.qrPayload === undefined && body.merchantId === undefined) {
      problem('qrPayload', 'is required unless merchantId is given');
    }
    if (body.qrPayload !== undefined && body.merchantId !== undefined) {
      problem('merchantId', 'must not be given with qrPayload');
    }
    if (body.merchantId !== undefined && body.amount === undefined)
      problem('amount', 'is required with merchantId');
    if (body.merchantId !== undefined && body.currency === undefined) {
      problem('currency', 'is required with merchantId');
    }
    if (body.method === 'card' && body.cardId === undefined)
      problem('cardId', 'is required when method is card');
  });

/** `POST /v1/payments/{paymentId}/refunds`: without `amount`, all that is left. */
export const refundBody = z.object({ amount: z.number().optional() });

/** `POST /v1/transfers`: wallet to wallet. */
export const transferBody = z.object({
  fromUserId: z.string().min(1, 'must not be empty'),
  toUserId: z.string().min(1, 'must not be empty'),
  amount: z.number(),
  currency: z.string(),
  message: z.string().max(140, 'must be at most 140 characters').optional(),
});

const paymentStatuses: Readonly<Record<Payment['status'], string>> = {
  PAYMENT_STATUS_UNSPECIFIED: 'PENDING',
  PAYMENT_STATUS_PENDING: 'PENDING',
  PAYMENT_STATUS_COMPLETED: 'COMPLETED',
  PAYMENT_STATUS_DECLINED: 'DECLINED',
  PAYMENT_STATUS_FAILED: 'FAILED',
};

const transferStatuses: Readonly<Record<Transfer['status'], string>> = {
  TRANSFER_STATUS_UNSPECIFIED: 'PENDING',
  TRANSFER_STATUS_PENDING: 'PENDING',
  TRANSFER_STATUS_COMPLETED: 'COMPLETED',
  TRANSFER_STATUS_DECLINED: 'DECLINED',
  TRANSFER_STATUS_FAILED: 'FAILED',
};

const refundStatuses: Readonly<Record<Refund['status'], string>> = {
  REFUND_STATUS_UNSPECIFIED: 'PENDING',
  REFUND_STATUS_PENDING: 'PENDING',
  REFUND_STATUS_COMPLETED: 'COMPLETED',
  REFUND_STATUS_FAILED: 'FAILED',
};

type CashbackStatus = NonNullable<Payment['cashback']>['status'];
const cashbackStatuses: Readonly<Record<CashbackStatus, string>> = {
  CASHBACK_STATUS_UNSPECIFIED: 'NONE',
  CASHBACK_STATUS_NONE: 'NONE',
  CASHBACK_STATUS_GRANTED: 'GRANTED',
  CASHBACK_STATUS_PENDING: 'PENDING',
};

const methods: Readonly<Record<Payment['method'], string>> = {
  PAYMENT_METHOD_UNSPECIFIED: 'wallet',
  PAYMENT_METHOD_WALLET: 'wallet',
  PAYMENT_METHOD_CARD: 'card',
};

/** A decline as API.md answers it: the code (and so the HTTP status), `details.reason`, a message. */
interface Decline {
  code: ErrorCode;
  reason?: string;
  message: string;
}

const declines: Readonly<Record<Payment['declineReason'], Decline>> = {
  DECLINE_REASON_UNSPECIFIED: { code: 'payment_declined', message: 'the payment was declined' },
  DECLINE_REASON_INSUFFICIENT_FUNDS: {
    code: 'insufficient_funds',
    reason: 'insufficient_funds',
    message: 'insufficient funds in the wallet',
  },
  DECLINE_REASON_RISK: { code: 'payment_declined', reason: 'risk', message: 'the payment was declined' },
  DECLINE_REASON_CARD_DECLINED: {
    code: 'payment_declined',
    reason: 'card_declined',
    message: 'the card was declined',
  },
  DECLINE_REASON_ACCOUNT_LOCKED: {
    code: 'account_locked',
    reason: 'account_locked',
    message: 'card operations are locked for this account',
  },
};

/** Abandoned after a crash (the sweeper's FAILED): nothing moved, and the key's answer is final. */
const abandoned: Decline = {
  code: 'payment_declined',
  reason: 'failed',
  message: 'the payment could not be completed; nothing was charged',
};

/** `Idempotent-Replayed: true` when payment answered an earlier request's result. */
function replayHeaders(replayed: boolean): Record<string, string> {
  return replayed ? { 'idempotent-replayed': 'true' } : {};
}

/** The API's shape of a payment (API.md, "Paying"), plus a few extra fields. */
export function paymentView(payment: Payment) {
  const declined = payment.status === 'PAYMENT_STATUS_DECLINED';
  return {
    paymentId: payment.paymentId,
    status: paymentStatuses[payment.status],
    amount: int64ToNumber(payment.amount),
    currency: payment.currency,
    merchantId: payment.merchantId,
    userId: payment.payerUserId,
    method: methods[payment.method],
    cashback: {
      status: cashbackStatuses[payment.cashback?.status ?? 'CASHBACK_STATUS_NONE'],
      points: int64ToNumber(payment.cashback?.points ?? '0'),
    },
    refundedAmount: int64ToNumber(payment.refundedAmount),
    ...(declined ? { declineReason: declines[payment.declineReason].reason ?? null } : {}),
    ...(payment.qrCodeId ? { qrCodeId: payment.qrCodeId } : {}),
    createdAt: isoTime(payment.createdAt) ?? null,
  };
}

export function transferView(transfer: Transfer) {
  return {
    transferId: transfer.transferId,
    status: transferStatuses[transfer.status],
    amount: int64ToNumber(transfer.amount),
    currency: transfer.currency,
    fromUserId: transfer.fromUserId,
    toUserId: transfer.toUserId,
    ...(transfer.message ? { message: transfer.message } : {}),
    createdAt: isoTime(transfer.createdAt) ?? null,
  };
}

export function refundView(refund: Refund) {
  return {
    refundId: refund.refundId,
    paymentId: refund.paymentId,
    status: refundStatuses[refund.status],
    amount: int64ToNumber(refund.amount),
    currency: refund.currency,
    clawedBackPoints: int64ToNumber(refund.clawedBackPoints),
    createdAt: isoTime(refund.createdAt) ?? null,
  };
}

export function qrCodeView(qrCode: QrCode) {
  const amount = int64ToNumber(qrCode.amount);
  return {
    qrCodeId: qrCode.qrCodeId,
    payload: qrCode.payload,
    merchantId: qrCode.merchantId,
    ...(amount > 0 ? { amount } : {}),
    currency: qrCode.currency,
  };
}

/**
 * The answer to an attempt payment recorded (API.md): a decline is an error body whose code says
 * why (`402 insufficient_funds`, `402 payment_declined` with the reason, `423 account_locked`);
 * a FAILED attempt (abandoned after a crash, nothing moved) is a `402 payment_declined` with
 * reason `failed`, final like a decline; a PENDING one `202`. A replay answers the same, marked.
 */
function recordedOutcome(
  outcome: { status: string; declineReason: Payment['declineReason']; body: Record<string, unknown> },
  idKey: string,
  replayed: boolean,
): RouteResult {
  const headers = replayHeaders(replayed);
  if (outcome.status === 'DECLINED' || outcome.status === 'FAILED') {
    const decline = outcome.status === 'FAILED' ? abandoned : declines[outcome.declineReason];
    throw new ApiError(
      httpStatusOf[decline.code],
      decline.code,
      decline.message,
      { ...(decline.reason ? { reason: decline.reason } : {}), [idKey]: outcome.body[idKey] },
      { headers },
    );
  }
  return { status: outcome.status === 'PENDING' ? 202 : 201, body: outcome.body, headers };
}

export function paymentOutcome(payment: Payment, replayed: boolean): RouteResult {
  const body = paymentView(payment);
  return recordedOutcome(
    { status: body.status, declineReason: payment.declineReason, body },
    'paymentId',
    replayed,
  );
}

export function transferOutcome(transfer: Transfer, replayed: boolean): RouteResult {
  const body = transferView(transfer);
  return recordedOutcome(
    { status: body.status, declineReason: transfer.declineReason, body },
    'transferId',
    replayed,
  );
}

/** A refund: `201`, or `202` while PENDING; its status says COMPLETED or FAILED. */
export function refundOutcome(refund: Refund, replayed: boolean): RouteResult {
  const body = refundView(refund);
  return { status: body.status === 'PENDING' ? 202 : 201, body, headers: replayHeaders(replayed) };
}

/** The proto's payment method for the API's word (absent: the wallet). */
export function paymentMethod(
  method: 'wallet' | 'card' | undefined,
): 'PAYMENT_METHOD_WALLET' | 'PAYMENT_METHOD_CARD' {
  return method === 'card' ? 'PAYMENT_METHOD_CARD' : 'PAYMENT_METHOD_WALLET';
}
