import { toTimestamp, type OutboxEvent } from '@koban/platform';
import type { DeferReason } from '../downstream/campaign-port.js';
import { outboxEvent } from '../outbox-event.js';
import type { Payment } from './payment.js';

/**
 * PaymentCompleted (topic payments.v1, keyed by the payer's wallet account, for a card payment
 * too), with the cashback outcome recorded with the completion: campaign-promo treats PENDING
 * ones as a safety net for the CashbackDeferred below.
 */
export function completedEvent(payment: Payment): OutboxEvent {
  const completedAt = payment.finishedAt ?? payment.createdAt;
  return outboxEvent(
    'paymentCompleted',
    {
      paymentId: payment.paymentId,
      payerUserId: payment.payerUserId,
      payerAccountId: payment.payerAccountId,
      merchantId: payment.merchantId,
      merchantAccountId: payment.merchantAccountId,
      amount: String(payment.amount),
      currency: payment.currency,
      method: payment.method === 'CARD' ? 'PAYMENT_METHOD_CARD' : 'PAYMENT_METHOD_WALLET',
      cardId: payment.card?.cardId ?? '',
      ledgerTransferId: payment.ledgerTransferId,
      cashbackStatus: `CASHBACK_STATUS_${payment.cashback.status}`,
      cashbackPoints: String(payment.cashback.points),
      campaignId: payment.cashback.campaignId ?? '',
      qrCodeId: payment.qrCodeId ?? '',
      completedAt: toTimestamp(completedAt),
    },
    { key: payment.payerAccountId, occurredAt: completedAt, trace: payment.trace },
  );
}

/**
 * CashbackDeferred (topic cashback.v1, keyed by the payer's points account): campaign-promo's
 * retry queue grants the cashback later, exactly once (GrantCashback is idempotent by payment
 * id). `paid_at` is the completion time, which campaign windows are matched against.
 */
export function cashbackDeferredEvent(payment: Payment, reason: DeferReason): OutboxEvent {
  const paidAt = payment.finishedAt ?? payment.createdAt;
  const key = payment.pointsAccountId ?? payment.payerAccountId;
  return outboxEvent(
    'cashbackDeferred',
    {
      paymentId: payment.paymentId,
      userId: payment.payerUserId,
      pointsAccountId: payment.pointsAccountId ?? '',
      merchantId: payment.merchantId,
      amount: String(payment.amount),
      currency: payment.currency,
      paidAt: toTimestamp(paidAt),
      reason,
    },
    { key, occurredAt: paidAt, trace: payment.trace },
  );
}
