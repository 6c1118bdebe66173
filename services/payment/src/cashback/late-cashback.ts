import type { decodeEnvelope } from '@koban/platform';
import { noCashback, type Cashback } from '../payment/payment.js';

type Envelope = ReturnType<typeof decodeEnvelope>;

/** How campaign-promo decided a payment's cashback after the payment had completed. */
export interface LateCashback {
  paymentId: string;
  /** GRANTED with its points and campaign, or NONE. */
  cashback: Cashback;
}

/**
 * What an event of `cashback.v1` tells about a payment's cashback, or why it tells nothing.
 *
 * Only CashbackGranted decides a cashback: GRANTED with its points, or NONE when the grant came
 * to nothing (campaign-promo announces that as 0 points and no campaign). A CashbackClawedBack
 * changes nothing here, also when campaign-promo recorded it before the grant (a refund of a
 * payment whose cashback was still PENDING): a payment shows the points that were granted, and
 * what each refund took back is on the refund, as for cashback granted with the payment.
 * CashbackDeferred is this service's own announcement.
 */
export function lateCashbackOf(envelope: Envelope): LateCashback | { skip: string } {
  if (envelope.event !== 'cashbackGranted' || !envelope.cashbackGranted) {
    return { skip: `not a grant (${envelope.event ?? 'unknown event'})` };
  }
  const granted = envelope.cashbackGranted;
  if (granted.paymentId === '') return { skip: 'no payment id' };
  if (!/^\d{1,15}$/.test(granted.points)) return { skip: `points not a whole number: ${granted.points}` };
  const points = Number(granted.points);
  if (points === 0) return { paymentId: granted.paymentId, cashback: noCashback };
  return {
    paymentId: granted.paymentId,
    cashback: { status: 'GRANTED', points, campaignId: granted.campaignId || null },
  };
}
