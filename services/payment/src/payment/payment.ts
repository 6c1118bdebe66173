import { randomBytes } from 'node:crypto';
import type { ChargeDecline } from '../downstream/bank-port.js';
import type { GrantOutcome } from '../downstream/campaign-port.js';
import { checkScope, requestHash, type IdempotencyScope } from '../idempotency/idempotency.js';
import { checkAmount, checkCurrency, type CURRENCY } from '../money.js';
import { invalidRequest, notFound } from '../payment-errors.js';
import { parseMerchantQr, type MerchantQr } from '../qr/emvco.js';
import { invalidQr } from '../qr/qr-code.js';
import type { TraceContext } from '../tracing/trace-context.js';

/**
 * A payment from a user's wallet or card to a merchant. Its life:
 *
 *   PENDING ──ledger applied the transfer──▶ COMPLETED  (+ PaymentCompleted, and CashbackDeferred
 *      │ │                                               when cashback is PENDING, in the outbox)
 *      │ ├──fraud declined──────────────────▶ DECLINED (RISK)
 *      │ ├──ledger: insufficient funds──────▶ DECLINED (INSUFFICIENT_FUNDS)          (wallet)
 *      │ └──issuer declined / lockout───────▶ DECLINED (CARD_DECLINED, ACCOUNT_LOCKED) (card)
 *      └──abandoned by the sweeper, no money moved──▶ FAILED
 *
 * It is created PENDING with the ledger transfer id it will use (`pay_<paymentId>`) and, for a
 * card, the bank-integration charge id (the same string), so every attempt to move its money —
 * the request's, a retry's, the sweeper's — is the same charge and the same transfer, each
 * applied at most once. A card payment is authorised on the card first (the charge), then
 * settled card-settlement → merchant by the ledger. Cashback is asked of campaign-promo between
 * the ledger transfer and the transaction that records COMPLETED, so the payment's cashback
 * outcome is recorded with (and never before) its completion. Only PENDING rows change; the
 * other states are final.
 */
export type PaymentStatus = 'PENDING' | 'COMPLETED' | 'DECLINED' | 'FAILED';
export type DeclineReason = 'INSUFFICIENT_FUNDS' | 'RISK' | 'CARD_DECLINED' | 'ACCOUNT_LOCKED';
export type CashbackStatus = 'NONE' | 'GRANTED' | 'PENDING';
export type PaymentMethod = 'WALLET' | 'CARD';

/** The cashback outcome recorded with a completed payment. */
export interface Cashback {
  status: CashbackStatus;
  /** Points granted; 0 unless GRANTED. */
  points: number;
  /** The campaign that granted them; null unless GRANTED. */
  campaignId: string | null;
}

/** Before completion, and for payments that never complete. */
export const noCashback: Cashback = Object.freeze({ status: 'NONE', points: 0, campaignId: null });

/** The cashback recorded for campaign-promo's answer: GRANTED, NONE, or PENDING when it gave none in time. */
export function cashbackOf(grant: GrantOutcome): Cashback {
  switch (grant.kind) {
    case 'granted':
      return { status: 'GRANTED', points: grant.points, campaignId: grant.campaignId || null };
    case 'none':
      return noCashback;
    case 'deferred':
      return { status: 'PENDING', points: 0, campaignId: null };
  }
}

export interface Payment {
  paymentId: string;
  /** The key it was created under; its final response is stored there. */
  idempotency: IdempotencyScope;
  payerUserId: string;
  /** The payer's wallet: debited by a wallet payment, and the key of its events either way. */
  payerAccountId: string;
  merchantId: string;
  merchantAccountId: string;
  amount: number;
  currency: typeof CURRENCY;
  method: PaymentMethod;
  /** Set for a card payment, with the fingerprint bank-integration gave (a fraud feature). */
  card: { cardId: string; fingerprint: string } | null;
  /** The bank-integration charge of a card payment (`pay_<paymentId>`); null for the wallet. */
  chargeId: string | null;
  /** The account the ledger transfer debits: the payer's wallet, or card-settlement for a card. */
  fundingAccountId: string;
  /** The payer's POINTS account, where cashback goes; null when the payer has none. */
  pointsAccountId: string | null;
  qrCodeId: string | null;
  clientIp: string;
  status: PaymentStatus;
  declineReason: DeclineReason | null;
  ledgerTransferId: string;
  /** Sum of completed refunds. */
  refundedAmount: number;
  /** NONE until it completes; then what campaign-promo answered, or PENDING when it did not in time. */
  cashback: Cashback;
  trace: TraceContext | null;
  createdAt: Date;
  finishedAt: Date | null;
  /** When a charge or ledger transfer was last sent for it (the sweeper's FAILED rule counts from it). */
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
  method: PaymentMethod;
  /** Set exactly when `method` is CARD. */
  cardId: string | null;
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
  method: PaymentMethod;
  cardId: string;
  clientIp: string;
  trace: TraceContext | null;
}

/**
 * The checks that need no I/O, in the order a client would fix them: method, key, payer, payee,
 * currency, amount. A QR payload is parsed here (bad CRC and the like are `invalid_qr`).
 */
export function checkPaymentRequest(request: PaymentRequest): PaymentCommand {
  if (request.method === 'CARD' && request.cardId === '') {
    throw invalidRequest({ cardId: 'required when the method is CARD' });
  }
  if (request.method === 'WALLET' && request.cardId !== '') {
    throw invalidRequest({ cardId: 'only with the method CARD' });
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
    method: request.method,
    cardId: request.method === 'CARD' ? request.cardId : null,
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

/** The bank-integration charge id of a card payment: derived from it, so the card is charged at most once. */
export function paymentChargeId(paymentId: string): string {
  return `pay_${paymentId}`;
}

/** Whether `callerId` may see the payment: its payer or its payee. */
export function canSeePayment(
  payment: Pick<Payment, 'payerUserId' | 'merchantId'>,
  callerId: string,
): boolean {
  return callerId === payment.payerUserId || callerId === payment.merchantId;
}

/** How a payment ends: completed with its cashback outcome, or declined or failed. */
export type PaymentOutcome =
  | { status: 'COMPLETED'; cashback: Cashback }
  | { status: 'DECLINED'; declineReason: DeclineReason }
  | { status: 'FAILED' };

/** A payment that reached a final state at `at`. */
export function finishPayment(payment: Payment, outcome: PaymentOutcome, at: Date): Payment {
  return {
    ...payment,
    status: outcome.status,
    declineReason: outcome.status === 'DECLINED' ? outcome.declineReason : null,
    cashback: outcome.status === 'COMPLETED' ? outcome.cashback : noCashback,
    finishedAt: at,
  };
}

/**
 * Why a card payment is declined when the issuer declined its charge: a lockout is answered as
 * ACCOUNT_LOCKED (the API's 423), every other refusal of the card as CARD_DECLINED.
 */
export function cardDecline(decline: ChargeDecline): DeclineReason {
  return decline === 'ACCOUNT_LOCKED' ? 'ACCOUNT_LOCKED' : 'CARD_DECLINED';
}

/**
 * The decline a refusal code from bank-integration stands for, if it is one: a lockout, or a
 * problem with the card. Other refusals (a throttle, an unknown card) are not answers about this
 * payment and are not recorded as one.
 */
export function refusalDecline(code: string): DeclineReason | undefined {
  if (code === 'account_locked') return 'ACCOUNT_LOCKED';
  if (code === 'card_declined' || code === 'card_expired' || code === 'invalid_cvc') return 'CARD_DECLINED';
  return undefined;
}
