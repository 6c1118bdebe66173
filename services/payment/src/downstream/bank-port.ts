import { DomainError, GrpcStatus as grpcStatus, type GrpcClient, type KobanProtos } from '@koban/platform';
import { CURRENCY } from '../money.js';
import {
  PaymentError,
  invalidRequest,
  notFound,
  serviceUnavailable,
  type PaymentErrorCode,
} from '../payment-errors.js';

/** bank-integration's gRPC client, built in main.ts with the payment→bank-integration policy. */
export type BankClient = GrpcClient<
  KobanProtos['koban']['bankintegration']['v1']['BankIntegrationService']['service']
>;

/** Where a charge pulls money from. */
export type ChargeSource = { kind: 'bank_account'; bankAccountId: string } | { kind: 'card'; cardId: string };

/** One charge, identified by a charge id chosen by payment (derived from the top-up or payment id). */
export interface ChargeRequest {
  chargeId: string;
  userId: string;
  amount: number;
  source: ChargeSource;
  purpose: 'TOPUP' | 'PAYMENT';
  clientIp: string;
}

/** Why the bank or issuer refused a charge it recorded. */
export type ChargeDecline = 'BANK_DECLINED' | 'CARD_DECLINED' | 'CARD_EXPIRED' | 'ACCOUNT_LOCKED';

/** A charge bank-integration recorded: its state there. */
export type RecordedCharge =
  { kind: 'approved' } | { kind: 'declined'; reason: ChargeDecline } | { kind: 'pending' };

/**
 * What a charge attempt came to. `refused` is bank-integration's business answer BEFORE
 * charging (lockout, throttle, unknown source): no charge exists under the id. `unavailable`
 * means the answer is unknown — slow, failing, open breaker — so the charge may or may not exist
 * and only GetCharge can tell later.
 */
export type ChargeOutcome =
  RecordedCharge | { kind: 'refused'; error: DomainError } | { kind: 'unavailable'; error: unknown };

/** A registered card as payment needs it: whose it is, and its fingerprint (a fraud feature). */
export interface CardInfo {
  userId: string;
  fingerprint: string;
}

/** bank-integration as payment uses it. */
export interface BankPort {
  /**
   * Charges at most once per charge id. `retry: false` makes a single attempt: the request path
   * must answer within its budget, and a refusal of a single attempt proves nothing was charged.
   * Never throws for the dependency's failures.
   */
  createCharge(request: ChargeRequest, options: { retry: boolean }): Promise<ChargeOutcome>;
  /** The charge under an id, or undefined when none was recorded; throws `service_unavailable` when it cannot say. */
  findCharge(chargeId: string): Promise<RecordedCharge | undefined>;
  /** A registered card, or undefined when there is none; throws `service_unavailable` when it cannot say. */
  findCard(cardId: string): Promise<CardInfo | undefined>;
}

const declines: Readonly<Record<string, ChargeDecline>> = {
  CHARGE_DECLINE_REASON_BANK_DECLINED: 'BANK_DECLINED',
  CHARGE_DECLINE_REASON_CARD_DECLINED: 'CARD_DECLINED',
  CHARGE_DECLINE_REASON_CARD_EXPIRED: 'CARD_EXPIRED',
  CHARGE_DECLINE_REASON_ACCOUNT_LOCKED: 'ACCOUNT_LOCKED',
};

interface ChargeMessage {
  status: string;
  declineReason: string;
}

function recorded(charge: ChargeMessage, source: ChargeSource['kind']): RecordedCharge {
  switch (charge.status) {
    case 'CHARGE_STATUS_APPROVED':
      return { kind: 'approved' };
    case 'CHARGE_STATUS_DECLINED':
      // An unspecified reason is still a refusal of this source.
      return {
        kind: 'declined',
        reason: declines[charge.declineReason] ?? (source === 'card' ? 'CARD_DECLINED' : 'BANK_DECLINED'),
      };
    default:
      return { kind: 'pending' };
  }
}

/** Every DomainError but bank-integration's own `service_unavailable` is its business answer. */
const isBusinessAnswer = (error: unknown): error is DomainError =>
  error instanceof DomainError && error.code !== 'service_unavailable';

const isNotFound = (error: DomainError): boolean =>
  error.code === 'not_found' || error.status === grpcStatus.NOT_FOUND;

/** The refusals that pass through to payment's callers with their code and details unchanged. */
const passedThrough = new Set<PaymentErrorCode>([
  'invalid_bank_account',
  'invalid_card_number',
  'card_expired',
  'invalid_cvc',
  'card_declined',
  'account_locked',
  'rate_limited',
]);

/**
 * bank-integration's refusal of a charge as payment answers it: lockouts and card problems with
 * their own code and details (`lockedUntil`, `retryAfterSeconds`), an unknown or foreign source
 * as `not_found`, anything else as `invalid_request`.
 */
export function chargeRefusalError(error: DomainError, what: string): PaymentError {
  if (passedThrough.has(error.code as PaymentErrorCode)) {
    return new PaymentError(error.code as PaymentErrorCode, error.message, error.details);
  }
  if (isNotFound(error)) return notFound(what);
  return invalidRequest({ source: error.message });
}

export function createBankPort(client: BankClient): BankPort {
  return {
    async createCharge(request, options) {
      const source =
        request.source.kind === 'card'
          ? { source: 'cardId' as const, cardId: request.source.cardId }
          : { source: 'bankAccountId' as const, bankAccountId: request.source.bankAccountId };
      try {
        const { charge } = await client.createCharge(
          {
            chargeId: request.chargeId,
            userId: request.userId,
            amount: String(request.amount),
            currency: CURRENCY,
            ...source,
            purpose: request.purpose === 'TOPUP' ? 'CHARGE_PURPOSE_TOPUP' : 'CHARGE_PURPOSE_PAYMENT',
            clientIp: request.clientIp,
          },
          { idempotent: options.retry },
        );
        if (charge === null)
          return { kind: 'unavailable', error: new Error('CreateCharge answered no charge') };
        return recorded(charge, request.source.kind);
      } catch (error) {
        if (isBusinessAnswer(error)) return { kind: 'refused', error };
        return { kind: 'unavailable', error };
      }
    },

    async findCharge(chargeId) {
      try {
        const { charge } = await client.getCharge({ chargeId });
        if (charge === null || charge.chargeId === '') return undefined;
        return recorded(charge, charge.source === 'cardId' ? 'card' : 'bank_account');
      } catch (error) {
        if (isBusinessAnswer(error) && isNotFound(error)) return undefined;
        throw serviceUnavailable(error);
      }
    },

    async findCard(cardId) {
      try {
        const { card } = await client.getCard({ cardId });
        if (card === null || card.cardId === '') return undefined;
        return { userId: card.userId, fingerprint: card.fingerprint };
      } catch (error) {
        if (isBusinessAnswer(error) && isNotFound(error)) return undefined;
        if (isBusinessAnswer(error)) throw chargeRefusalError(error, 'card');
        throw serviceUnavailable(error);
      }
    },
  };
}
