import { randomUUID } from 'node:crypto';
import {
  DomainError,
  GrpcStatusError,
  createGrpcServer,
  createLogger,
  loadProtos,
  toTimestamp,
  type KobanProtos,
  type ServiceHandlers,
} from '@koban/platform';

type BankDefinition = KobanProtos['koban']['bankintegration']['v1']['BankIntegrationService']['service'];
type Handlers = ServiceHandlers<BankDefinition>;
export type CreateChargeCall = Parameters<Handlers['CreateCharge']>[0];

/** What the simulated bank or issuer answers a new charge: a recorded status, or a refusal before charging. */
export type ChargeDecision =
  | 'APPROVED'
  | 'PENDING'
  | { declined: 'BANK_DECLINED' | 'CARD_DECLINED' | 'CARD_EXPIRED' | 'ACCOUNT_LOCKED' }
  | { refuse: DomainError };

/**
 * How the service misbehaves: `unavailable` fails every call before doing anything;
 * `lose_answer` records a new charge, then fails as if its answer had been lost on the way back.
 */
export type BankMode = 'ok' | 'unavailable' | 'lose_answer';

type ChargeDeclineReason =
  | 'CHARGE_DECLINE_REASON_UNSPECIFIED'
  | 'CHARGE_DECLINE_REASON_BANK_DECLINED'
  | 'CHARGE_DECLINE_REASON_CARD_DECLINED'
  | 'CHARGE_DECLINE_REASON_CARD_EXPIRED'
  | 'CHARGE_DECLINE_REASON_ACCOUNT_LOCKED';

interface StoredCharge {
  request: CreateChargeCall;
  status: 'CHARGE_STATUS_APPROVED' | 'CHARGE_STATUS_DECLINED' | 'CHARGE_STATUS_PENDING';
  declineReason: ChargeDeclineReason;
}

const UNAVAILABLE = 14;

/**
 * An in-process bank-integration speaking the real proto: linked bank accounts (bank `0999`
 * declines every debit, as the simulated banks do), registered cards, and charges recorded at
 * most once per charge id (a repeat answers the original). Configurable: a decision per charge,
 * a delay, a mode. It records every CreateCharge and GetCharge call.
 */
export interface FakeBankIntegration {
  address: string;
  /** Links a bank account (default bank code 0001); answers its id. */
  linkBankAccount(userId: string, bankCode?: string): string;
  /** Registers a card; answers its id. Its fingerprint is `fp_<cardId>`. */
  registerCard(userId: string): string;
  /** Decides each new charge; by default approves, and declines bank 0999 (BANK_DECLINED). */
  decide: (request: CreateChargeCall) => ChargeDecision;
  mode: BankMode;
  /** Delay before each CreateCharge and GetCharge is handled, in ms. */
  delayMs: number;
  createChargeCalls: CreateChargeCall[];
  getChargeCalls: string[];
  /** Charges recorded, by id. */
  charges: Map<string, StoredCharge>;
  /** Turns a PENDING charge into the bank's late answer. */
  settle(chargeId: string, status: 'CHARGE_STATUS_APPROVED' | 'CHARGE_STATUS_DECLINED'): void;
  close(): Promise<void>;
}

export async function startFakeBankIntegration(): Promise<FakeBankIntegration> {
  const bankAccounts = new Map<string, { userId: string; bankCode: string }>();
  const cards = new Map<string, { userId: string }>();
  const server = createGrpcServer({
    serviceName: 'bank-integration',
    logger: createLogger({ service: 'fake-bank-integration', level: 'silent' }),
    domainErrorStatus: {
      invalid_request: 3,
      not_found: 5,
      account_locked: 9,
      rate_limited: 8,
      invalid_cvc: 9,
      card_declined: 9,
      card_expired: 9,
    },
    host: '127.0.0.1',
  });

  const defaultDecision = (request: CreateChargeCall): ChargeDecision =>
    request.source === 'bankAccountId' && bankAccounts.get(request.bankAccountId ?? '')?.bankCode === '0999'
      ? { declined: 'BANK_DECLINED' }
      : 'APPROVED';

  const bank: Omit<FakeBankIntegration, 'address' | 'close'> = {
    linkBankAccount(userId, bankCode = '0001') {
      const id = `ba_${randomUUID()}`;
      bankAccounts.set(id, { userId, bankCode });
      return id;
    },
    registerCard(userId) {
      const id = `card_${randomUUID()}`;
      cards.set(id, { userId });
      return id;
    },
    decide: defaultDecision,
    mode: 'ok',
    delayMs: 0,
    createChargeCalls: [],
    getChargeCalls: [],
    charges: new Map(),
    settle(chargeId, status) {
      const charge = bank.charges.get(chargeId);
      if (charge) charge.status = status;
    },
  };

  const toCharge = (stored: StoredCharge) => ({
    ...stored.request,
    status: stored.status,
    declineReason: stored.declineReason,
    purpose: stored.request.purpose,
    authorizationCode: stored.status === 'CHARGE_STATUS_APPROVED' ? 'AUTH1' : '',
    refundedAmount: '0',
    createdAt: toTimestamp(Date.now()),
  });
  const pause = () =>
    bank.delayMs > 0 ? new Promise((resolve) => setTimeout(resolve, bank.delayMs)) : Promise.resolve();
  const notImplemented = () => {
    throw new GrpcStatusError(12, 'not in the fake bank-integration');
  };

  server.addService(loadProtos().koban.bankintegration.v1.BankIntegrationService.service, {
    LinkBankAccount: notImplemented,
    GetBankAccount: notImplemented,
    ListBankAccounts: notImplemented,
    RegisterCard: notImplemented,
    ListCards: notImplemented,
    RefundCharge: notImplemented,
    GetCard(request) {
      if (bank.mode === 'unavailable') throw new GrpcStatusError(UNAVAILABLE, 'bank-integration down');
      const card = cards.get(request.cardId);
      if (card === undefined) throw new DomainError('not_found', 'no such card');
      return {
        card: {
          cardId: request.cardId,
          userId: card.userId,
          brand: 'CARD_BRAND_VISA',
          last4: '1111',
          expMonth: 12,
          expYear: 2099,
          fingerprint: `fp_${request.cardId}`,
          createdAt: toTimestamp(Date.now()),
        },
      };
    },
    async CreateCharge(request) {
      bank.createChargeCalls.push(request);
      await pause();
      if (bank.mode === 'unavailable') throw new GrpcStatusError(UNAVAILABLE, 'bank-integration down');
      const previous = bank.charges.get(request.chargeId);
      if (previous !== undefined) return { charge: toCharge(previous), replayed: true };
      const owner =
        request.source === 'cardId'
          ? cards.get(request.cardId ?? '')?.userId
          : bankAccounts.get(request.bankAccountId ?? '')?.userId;
      if (owner !== request.userId) throw new DomainError('not_found', 'no such source');
      const decision = bank.decide(request);
      if (typeof decision === 'object' && 'refuse' in decision) throw decision.refuse;
      const stored: StoredCharge = {
        request,
        status:
          decision === 'APPROVED'
            ? 'CHARGE_STATUS_APPROVED'
            : decision === 'PENDING'
              ? 'CHARGE_STATUS_PENDING'
              : 'CHARGE_STATUS_DECLINED',
        declineReason:
          typeof decision === 'object'
            ? (`CHARGE_DECLINE_REASON_${decision.declined}` as const)
            : 'CHARGE_DECLINE_REASON_UNSPECIFIED',
      };
      bank.charges.set(request.chargeId, stored);
      if (bank.mode === 'lose_answer') throw new GrpcStatusError(UNAVAILABLE, 'answer lost');
      return { charge: toCharge(stored), replayed: false };
    },
    async GetCharge(request) {
      bank.getChargeCalls.push(request.chargeId);
      await pause();
      if (bank.mode === 'unavailable') throw new GrpcStatusError(UNAVAILABLE, 'bank-integration down');
      const stored = bank.charges.get(request.chargeId);
      if (stored === undefined) throw new DomainError('not_found', 'no such charge');
      return { charge: toCharge(stored) };
    },
  });
  const port = await server.listen(0);
  return Object.assign(bank, { address: `127.0.0.1:${port}`, close: () => server.shutdown(0) });
}
