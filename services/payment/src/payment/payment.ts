import { randomBytes } from 'node:crypto';
import { checkScope, requestHash, type IdempotencyScope } from '../idempotency/idempotency.js';
import { checkAmount, checkCurrency, type CURRENCY } from '../money.js';
import { invalidRequest, notFound } from '../payment-errors.js';
import { parseMerchantQr, type MerchantQr } from '../qr/emvco.js';
import { invalidQr } from '../qr/qr-code.js';
import type { TraceContext } from '../tracing/trace-context.js';

/**
 * A payment from a user's wallet to a merchant. Its life:
 *
 *   PENDING ──ledger applied the transfer──▶ COMPLETED  (+ PaymentCompleted in the outbox)
 *      │ ├──fraud declined──────────────────▶ DECLINED (RISK)
 *      │ └──ledger: insufficient funds──────▶ DECLINED (INSUFFICIENT_FUNDS)
 *      └──abandoned by the sweeper, no money moved──▶ FAILED
 *
 * It is created PENDING with the ledger transfer id it will use (`pay_<paymentId>`), so every
 * attempt to move its money — the request's, a retry's, the sweeper's — is the same transfer,
 * which the ledger applies at most once. Only PENDING rows change; the other states are final.
 */
export type PaymentStatus = 'PENDING' | 'COMPLETED' | 'DECLINED' | 'FAILED';
export type DeclineReason = 'INSUFFICIENT_FUNDS' | 'RISK';
export type CashbackStatus = 'NONE' | 'GRANTED' | 'PENDING';

export interface Payment {
  paymentId: string;
  /** The key it was created under; its final response is stored there. */
  idempotency: IdempotencyScope;
  payerUserId: string;
  payerAccountId: string;
  merchantId: string;
  merchantAccountId: string;
  amount: number;
  currency: typeof CURRENCY;
  /** Only wallet payments for now; card payments come later. */
  method: 'WALLET';
  qrCodeId: string | null;
  clientIp: string;
  status: PaymentStatus;
  declineReason: DeclineReason | null;
  ledgerTransferId: string;
  /** Sum of completed refunds. */
  refundedAmount: number;
  /** Campaigns come later: every payment is NONE/0 until then. */
  cashback: { status: CashbackStatus; points: number };
  trace: TraceContext | null;
  createdAt: Date;
  finishedAt: Date | null;
  /** When a ledger transfer was last sent for it (the sweeper's FAILED rule counts from it). */
  lastTransferAt: Date;
}

/** Whom the payer pays: a scanned code, or a merchant id. */
export type Payee =
  { kind: 'qr'; payload: string; qr: MerchantQr } | { kind: 'merchant'; merchantId: string };

/** A CreatePayment request that passed every check that needs no I/O. */
export interface PaymentCommand {
  scope: IdempotencyScope;
  requestHash: string;
  payerUserId: string;
  payee: Payee;
  /** The amount the request asked for; undefined when it gave none (a dynamic code's then applies). */
  requestedAmount: number | undefined;
  clientIp: string;
  trace: TraceContext | null;
}

/** CreatePayment as it arrives, transport aside. */
export interface PaymentRequest {
  idempotencyKey: string;
  callerId: string;
  payerUserId: string;
  qrPayload: string | undefined;
  merchantId: string | undefined;
  /** int64 as a decimal string; '0' when not given. */
  amount: string;
  currency: string;
  method: 'WALLET' | 'CARD';
  cardId: string;
  clientIp: string;
  trace: TraceContext | null;
}

/**
 * The checks that need no I/O, in the order a client would fix them: method, key, payer, payee,
 * currency, amount. A QR payload is parsed here (bad CRC and the like are `invalid_qr`).
 */
export function checkPaymentRequest(request: PaymentRequest): PaymentCommand {
  if (request.method === 'CARD') {
    throw invalidRequest({ method: 'card payments are not available yet; pay from the wallet' });
  }
  const scope = checkScope(request.callerId, request.idempotencyKey);
  if (request.payerUserId === '') throw invalidRequest({ payerUserId: 'required' });
  // The gateway scopes the key to the authenticated payer: paying from someone else's wallet
  // answers as if that wallet did not exist.
  if (request.payerUserId !== request.callerId) throw notFound('payer');

  const hash = requestHash('CreatePayment', {
    payerUserId: request.payerUserId,
    payee:
      request.qrPayload !== undefined ? `qr:${request.qrPayload}` : `merchant:${request.merchantId ?? ''}`,
    amount: request.amount,
    currency: request.currency,
    method: request.method,
    cardId: request.cardId,
  });
  const common = {
    scope,
    requestHash: hash,
    payerUserId: request.payerUserId,
    clientIp: request.clientIp,
    trace: request.trace,
  };

  if (request.qrPayload !== undefined) {
    const parsed = parseMerchantQr(request.qrPayload);
    if (!parsed.ok) throw invalidQr(parsed.reason, parsed.message);
    // The code is in yen; a request may repeat the currency, not change it.
    if (request.currency !== '') checkCurrency(request.currency);
    const requestedAmount = request.amount === '0' ? undefined : checkAmount(request.amount);
    const codeAmount = parsed.qr.amount;
    if (codeAmount === undefined && requestedAmount === undefined) {
      throw invalidRequest({ amount: 'required to pay a static QR code' });
    }
    if (codeAmount !== undefined && requestedAmount !== undefined && codeAmount !== requestedAmount) {
      throw invalidRequest({ amount: `must be 0 or the QR code's amount, ${codeAmount}` });
    }
    if (codeAmount !== undefined) checkAmount(String(codeAmount));
    return { ...common, payee: { kind: 'qr', payload: request.qrPayload, qr: parsed.qr }, requestedAmount };
  }

  if (request.merchantId === undefined || request.merchantId === '') {
    throw invalidRequest({ payee: 'give qrPayload or merchantId' });
  }
  checkCurrency(request.currency);
  return {
    ...common,
    payee: { kind: 'merchant', merchantId: request.merchantId },
    requestedAmount: checkAmount(request.amount),
  };
}

/** A new payment id (opaque, random: no write hot spot in TiDB). */
export function newPaymentId(): string {
  return `pmt_${randomBytes(12).toString('hex')}`;
}

/** The ledger transfer id of a payment: derived from it, so every attempt is the same transfer. */
export function paymentTransferId(paymentId: string): string {
  return `pay_${paymentId}`;
}

/** Whether `callerId` may see the payment: its payer or its payee. */
export function canSeePayment(
  payment: Pick<Payment, 'payerUserId' | 'merchantId'>,
  callerId: string,
): boolean {
  return callerId === payment.payerUserId || callerId === payment.merchantId;
}

/** A payment that reached a final state at `at`. */
export function finishPayment(
  payment: Payment,
  outcome: { status: Exclude<PaymentStatus, 'PENDING'>; declineReason?: DeclineReason },
  at: Date,
): Payment {
  return { ...payment, status: outcome.status, declineReason: outcome.declineReason ?? null, finishedAt: at };
}
