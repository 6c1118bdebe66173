/**
 * What bank-integration needs from the card issuer: verifying a card when it is registered
 * (the CVC is checked here and nowhere else), authorising charges on a stored card, and
 * refunding them. Charges and refunds carry an idempotency key (the charge id, the refund id):
 * a repeated key answers the original outcome. A call that gets no answer throws.
 */
export interface IssuerAdapter {
  verify(request: CardVerificationRequest, signal?: AbortSignal): Promise<CardVerificationOutcome>;
  authorize(request: CardAuthorizationRequest, signal?: AbortSignal): Promise<CardAuthorizationOutcome>;
  refund(request: CardRefundRequest, signal?: AbortSignal): Promise<CardRefundOutcome>;
}

export interface CardVerificationRequest {
  pan: string;
  expMonth: number;
  expYear: number;
  cvc: string;
}

export type CardVerificationOutcome = 'approved' | 'wrong_cvc' | 'declined' | 'expired';

export interface CardAuthorizationRequest {
  /** The charge id. */
  idempotencyKey: string;
  pan: string;
  expMonth: number;
  expYear: number;
  amount: number;
  currency: string;
}

export type CardAuthorizationOutcome =
  | { outcome: 'approved'; authorizationCode: string }
  | { outcome: 'declined'; reason: 'card_declined' | 'card_expired' };

export interface CardRefundRequest {
  /** The refund id. */
  idempotencyKey: string;
  authorizationCode: string;
  amount: number;
  currency: string;
}

export interface CardRefundOutcome {
  reference: string;
}
