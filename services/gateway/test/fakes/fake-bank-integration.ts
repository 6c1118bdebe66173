// An in-memory BankIntegrationService implementing bankintegration.proto closely enough for the
// gateway's component tests: the simulated banks and issuer of API.md, with fraud's lockouts and
// per-IP throttle folded in. Like the real service it keeps no card number or CVC: a card is its
// id, owner, brand, last four digits and whether the issuer declines charges on it.
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import {
  DomainError,
  GrpcStatusError,
  createGrpcServer,
  loadProtos,
  toTimestamp,
  type GrpcServer,
  type KobanProtos,
  type Logger,
  type ServiceHandlers,
} from '@koban/platform';
import type { FaultMode } from './fake-ledger.js';

type BankIntegrationDefinition =
  KobanProtos['koban']['bankintegration']['v1']['BankIntegrationService']['service'];
type Handlers = ServiceHandlers<BankIntegrationDefinition>;
type CardMessage = NonNullable<Awaited<ReturnType<Handlers['GetCard']>>['card']>;

const bankIntegrationErrorStatus = {
  invalid_request: grpc.status.INVALID_ARGUMENT,
  not_found: grpc.status.NOT_FOUND,
  invalid_bank_account: grpc.status.INVALID_ARGUMENT,
  invalid_card_number: grpc.status.INVALID_ARGUMENT,
  card_expired: grpc.status.FAILED_PRECONDITION,
  invalid_cvc: grpc.status.FAILED_PRECONDITION,
  card_declined: grpc.status.FAILED_PRECONDITION,
  account_locked: grpc.status.FAILED_PRECONDITION,
  rate_limited: grpc.status.RESOURCE_EXHAUSTED,
} as const;

/** API.md's issuer simulator: these cards are approved with these CVCs. */
const approvedCards: ReadonlyMap<string, string> = new Map([
  ['4111111111111111', '123'],
  ['5555555555554444', '321'],
]);
/** API.md: this one is declined by the issuer. */
export const DECLINED_CARD = '4000000000000002';
/** API.md: every debit from bank `0999` is declined. */
export const DECLINING_BANK = '0999';

const LOCKOUT_FAILURES = 5;
const LOCKOUT_MS = 30 * 60_000;
const IP_THROTTLE_SECONDS = 600;

const id = (prefix: string) => `${prefix}_${randomBytes(8).toString('hex')}`;

export interface FakeBankAccount {
  bankAccountId: string;
  userId: string;
  bankCode: string;
}

export interface FakeCard {
  cardId: string;
  userId: string;
  last4: string;
}

function luhnValid(number: string): boolean {
  if (!/^\d{12,19}$/.test(number)) return false;
  let sum = 0;
  for (let index = 0; index < number.length; index += 1) {
    let digit = Number(number[number.length - 1 - index]);
    if (index % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

function brandOf(number: string): NonNullable<CardMessage['brand']> {
  if (number.startsWith('4')) return 'CARD_BRAND_VISA';
  if (/^5[1-5]/.test(number)) return 'CARD_BRAND_MASTERCARD';
  return 'CARD_BRAND_OTHER';
}

export interface FakeBankIntegration {
  address: string;
  /** Linked accounts and registered cards, which the fake payment service charges. */
  bankAccounts: Map<string, FakeBankAccount>;
  cards: Map<string, FakeCard>;
  /** What each call was asked, without card data: the RPC, the user and the client IP. */
  requests: Array<{ rpc: string; userId: string; clientIp: string }>;
  /** Failed card checks from one client IP beyond which it is throttled (API.md: 30). */
  ipFailureLimit: number;
  setFault(mode: FaultMode): void;
  close(): Promise<void>;
}

export async function startFakeBankIntegration(logger: Logger): Promise<FakeBankIntegration> {
  let fault: FaultMode = { kind: 'none' };
  const bankAccounts = new Map<string, FakeBankAccount>();
  const cards = new Map<string, FakeCard>();
  const requests: FakeBankIntegration['requests'] = [];
  const wrongCvcs = new Map<string, number>();
  const failuresByIp = new Map<string, number>();
  // The fake keys its card counters by the number itself; the real service uses a keyed hash.
  const lockedUntil = new Map<string, number>();

  async function misbehave(rpc: string, userId: string, clientIp = ''): Promise<void> {
    requests.push({ rpc, userId, clientIp });
    if (fault.kind === 'unavailable') {
      throw new GrpcStatusError(grpc.status.UNAVAILABLE, 'bank-integration is down');
    }
    if (fault.kind === 'internal') throw new GrpcStatusError(grpc.status.INTERNAL, 'internal error');
    if (fault.kind === 'slow') await delay(fault.ms);
  }

  function checkLockouts(userId: string, number: string): void {
    for (const [key, scope] of [
      [`user|${userId}`, 'user'],
      [`card|${number}`, 'card'],
    ] as const) {
      const until = lockedUntil.get(key) ?? 0;
      if (until > Date.now()) {
        throw new DomainError('account_locked', 'card operations are locked after too many wrong CVCs', {
          lockedUntil: new Date(until).toISOString(),
          scope,
        });
      }
    }
  }

  function recordFailure(clientIp: string, wrongCvc: { userId: string; number: string } | undefined): void {
    failuresByIp.set(clientIp, (failuresByIp.get(clientIp) ?? 0) + 1);
    if (wrongCvc === undefined) return;
    for (const key of [`user|${wrongCvc.userId}`, `card|${wrongCvc.number}`]) {
      const count = (wrongCvcs.get(key) ?? 0) + 1;
      wrongCvcs.set(key, count);
      if (count >= LOCKOUT_FAILURES) lockedUntil.set(key, Date.now() + LOCKOUT_MS);
    }
  }

  const notUsed = () => {
    throw new GrpcStatusError(grpc.status.UNIMPLEMENTED, 'not used by the gateway');
  };

  const handlers: Handlers = {
    async LinkBankAccount(request) {
      await misbehave('LinkBankAccount', request.userId);
      if (!/^\d{4}$/.test(request.bankCode) || !/^\d{7}$/.test(request.accountNumber)) {
        throw new DomainError('invalid_bank_account', 'no such bank account');
      }
      const account: FakeBankAccount = {
        bankAccountId: id('bac'),
        userId: request.userId,
        bankCode: request.bankCode,
      };
      bankAccounts.set(account.bankAccountId, account);
      return {
        bankAccount: {
          bankAccountId: account.bankAccountId,
          userId: account.userId,
          bankCode: account.bankCode,
          accountNumberLast4: request.accountNumber.slice(-4),
          createdAt: toTimestamp(Date.now()),
        },
      };
    },

    async RegisterCard(request) {
      await misbehave('RegisterCard', request.userId, request.clientIp);
      const { number, cvc, clientIp } = request;
      checkLockouts(request.userId, number);
      if ((failuresByIp.get(clientIp) ?? 0) >= fakeIpFailureLimit()) {
        throw new DomainError('rate_limited', 'too many failed card checks from this address', {
          retryAfterSeconds: IP_THROTTLE_SECONDS,
        });
      }
      if (!luhnValid(number)) {
        recordFailure(clientIp, undefined);
        throw new DomainError('invalid_card_number', 'the card number is not valid');
      }
      if (request.expMonth < 1 || request.expMonth > 12) {
        throw new DomainError('invalid_request', 'the expiry month is not valid', {
          fields: { expMonth: 'must be from 1 to 12' },
        });
      }
      const now = new Date();
      const expired =
        request.expYear < now.getUTCFullYear() ||
        (request.expYear === now.getUTCFullYear() && request.expMonth < now.getUTCMonth() + 1);
      if (expired) {
        recordFailure(clientIp, undefined);
        throw new DomainError('card_expired', 'the card has expired');
      }
      if (number === DECLINED_CARD) {
        recordFailure(clientIp, undefined);
        throw new DomainError('card_declined', 'the issuer declined the card');
      }
      if (approvedCards.get(number) !== cvc) {
        recordFailure(clientIp, { userId: request.userId, number });
        throw new DomainError('invalid_cvc', 'the security code is wrong');
      }
      const card: FakeCard = { cardId: id('card'), userId: request.userId, last4: number.slice(-4) };
      cards.set(card.cardId, card);
      return {
        card: {
          cardId: card.cardId,
          userId: card.userId,
          brand: brandOf(number),
          last4: card.last4,
          expMonth: request.expMonth,
          expYear: request.expYear,
          fingerprint: `fp_${card.last4}`,
          createdAt: toTimestamp(Date.now()),
        },
      };
    },

    GetBankAccount: notUsed,
    ListBankAccounts: notUsed,
    GetCard: notUsed,
    ListCards: notUsed,
    CreateCharge: notUsed,
    GetCharge: notUsed,
    RefundCharge: notUsed,
  };

  const fake: FakeBankIntegration = {
    address: '',
    bankAccounts,
    cards,
    requests,
    ipFailureLimit: 30,
    setFault: (mode) => {
      fault = mode;
    },
    close: () => server.shutdown(0),
  };
  const fakeIpFailureLimit = () => fake.ipFailureLimit;

  const server: GrpcServer = createGrpcServer({
    serviceName: 'bank-integration',
    logger,
    domainErrorStatus: bankIntegrationErrorStatus,
  });
  server.addService(loadProtos().koban.bankintegration.v1.BankIntegrationService.service, handlers);
  const port = await server.listen(0);
  fake.address = `127.0.0.1:${port}`;
  return fake;
}
