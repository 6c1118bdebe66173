import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { DomainError } from '../grpc/domain-error.js';
import { loadProtos, type KobanProtos } from '../grpc/load-protos.js';
import { createGrpcServer, type ServiceHandlers } from '../grpc/server.js';
import { toTimestamp } from '../grpc/timestamp.js';
import { GrpcStatusError } from '../grpc/grpc-errors.js';
import { createLogger } from '../logging/logger.js';

type LedgerDefinition = KobanProtos['koban']['ledger']['v1']['LedgerService']['service'];
type Handlers = ServiceHandlers<LedgerDefinition>;
/** A Transfer request as the fake ledger received it. */
export type FakeLedgerTransferCall = Parameters<Handlers['Transfer']>[0];
/** An OpenAccount request as the fake ledger received it. */
export type FakeLedgerOpenAccountCall = Parameters<Handlers['OpenAccount']>[0];

interface Account {
  accountId: string;
  ownerType: FakeLedgerOpenAccountCall['ownerType'];
  ownerId: string;
  kind: FakeLedgerOpenAccountCall['kind'];
  currency: string;
  overdraftAllowed: boolean;
  balance: number;
  createdAt: Date;
}

const UNAVAILABLE = 14;
const UNIMPLEMENTED = 12;
const ledgerErrorStatus = {
  invalid_request: 3,
  not_found: 5,
  account_not_found: 5,
  insufficient_funds: 9,
  transfer_id_reused: 6,
} as const;

/**
 * An in-process ledger speaking the real LedgerService proto, for the component tests of the
 * services that call the ledger: accounts opened once per owner, kind and currency; transfers
 * applied at most once per transfer id, all postings or none; no overdraft except on the system
 * settlement accounts. It records every OpenAccount and Transfer call, and can be made slow,
 * down, or to lose its answers.
 */
export interface FakeLedger {
  address: string;
  /** Opens a JPY wallet (user) or merchant account with a starting balance; answers its id. */
  open(ownerType: 'OWNER_TYPE_USER' | 'OWNER_TYPE_MERCHANT', ownerId: string, balance?: number): string;
  /** Opens a user's POINTS account, as the gateway does at sign-up; answers its id. */
  openPoints(userId: string, balance?: number): string;
  /** The system settlement accounts (overdraft allowed), opened at start as the real ledger does. */
  settlement: { bank: string; card: string };
  balance(accountId: string): number;
  /** Sets a balance directly, as if money had moved elsewhere. */
  setBalance(accountId: string, balance: number): void;
  /** Transfers applied, by id, in the order applied. */
  applied: Map<string, FakeLedgerTransferCall>;
  transferCalls: FakeLedgerTransferCall[];
  openAccountCalls: FakeLedgerOpenAccountCall[];
  /** Transfer and OpenAccount answer UNAVAILABLE (nothing applied). */
  down: boolean;
  /**
   * Transfer applies the transfer (once), then answers UNAVAILABLE every time, as if the answer
   * had been lost on the way back.
   */
  loseTransferAnswers: boolean;
  /** LookupAccount answers UNAVAILABLE. */
  lookupDown: boolean;
  /** GetTransfer answers UNAVAILABLE. */
  getTransferDown: boolean;
  /** Delay before each Transfer is handled, in ms. */
  transferDelayMs: number;
  close(): Promise<void>;
}

/** Starts a {@link FakeLedger} on a free port of 127.0.0.1. */
export async function startFakeLedger(): Promise<FakeLedger> {
  const accounts = new Map<string, Account>();
  const byOwner = new Map<string, Account>();
  const ownerKey = (ownerType: string, ownerId: string, kind: string) => `${ownerType}/${ownerId}/${kind}`;
  const samePostings = (a: FakeLedgerTransferCall, b: FakeLedgerTransferCall) =>
    JSON.stringify(a.postings) === JSON.stringify(b.postings);
  const server = createGrpcServer({
    serviceName: 'ledger',
    logger: createLogger({ service: 'fake-ledger', level: 'silent' }),
    domainErrorStatus: ledgerErrorStatus,
    host: '127.0.0.1',
  });

  const open = (fields: Omit<Account, 'accountId' | 'balance' | 'createdAt'>, balance = 0): Account => {
    const key = ownerKey(fields.ownerType, fields.ownerId, fields.kind);
    const existing = byOwner.get(key);
    if (existing) return existing;
    const account = { ...fields, accountId: `acc_${randomUUID()}`, balance, createdAt: new Date() };
    accounts.set(account.accountId, account);
    byOwner.set(key, account);
    return account;
  };
  const settlement = (ownerId: string) =>
    open({
      ownerType: 'OWNER_TYPE_SYSTEM',
      ownerId,
      kind: 'ACCOUNT_KIND_SETTLEMENT',
      currency: 'JPY',
      overdraftAllowed: true,
    }).accountId;
  const toMessage = (account: Account) => ({
    accountId: account.accountId,
    ownerType: account.ownerType,
    ownerId: account.ownerId,
    kind: account.kind,
    currency: account.currency,
    overdraftAllowed: account.overdraftAllowed,
    createdAt: toTimestamp(account.createdAt),
  });

  const ledger: Omit<FakeLedger, 'address' | 'close'> = {
    open: (ownerType, ownerId, balance = 0) =>
      open(
        {
          ownerType,
          ownerId,
          kind: ownerType === 'OWNER_TYPE_USER' ? 'ACCOUNT_KIND_WALLET' : 'ACCOUNT_KIND_MERCHANT',
          currency: 'JPY',
          overdraftAllowed: false,
        },
        balance,
      ).accountId,
    openPoints: (userId, balance = 0) =>
      open(
        {
          ownerType: 'OWNER_TYPE_USER',
          ownerId: userId,
          kind: 'ACCOUNT_KIND_POINTS',
          currency: 'POINTS',
          overdraftAllowed: false,
        },
        balance,
      ).accountId,
    settlement: { bank: settlement('bank-settlement'), card: settlement('card-settlement') },
    balance: (accountId) => accounts.get(accountId)?.balance ?? Number.NaN,
    setBalance(accountId, balance) {
      const account = accounts.get(accountId);
      if (account) account.balance = balance;
    },
    applied: new Map(),
    transferCalls: [],
    openAccountCalls: [],
    down: false,
    loseTransferAnswers: false,
    lookupDown: false,
    getTransferDown: false,
    transferDelayMs: 0,
  };

  const notImplemented = () => {
    throw new GrpcStatusError(UNIMPLEMENTED, 'not in the fake ledger');
  };
  const toTransfer = (call: FakeLedgerTransferCall) => ({ ...call, createdAt: toTimestamp(Date.now()) });

  server.addService(loadProtos().koban.ledger.v1.LedgerService.service, {
    OpenAccount(request) {
      ledger.openAccountCalls.push(request);
      if (ledger.down) throw new GrpcStatusError(UNAVAILABLE, 'ledger down');
      const before = byOwner.size;
      const account = open({
        ownerType: request.ownerType,
        ownerId: request.ownerId,
        kind: request.kind,
        currency: request.currency,
        overdraftAllowed: request.overdraftAllowed,
      });
      return { account: toMessage(account), created: byOwner.size > before };
    },
    LookupAccount(request) {
      if (ledger.lookupDown) throw new GrpcStatusError(UNAVAILABLE, 'ledger down');
      const account = byOwner.get(ownerKey(request.ownerType, request.ownerId, request.kind));
      if (account === undefined || (request.currency !== '' && request.currency !== account.currency)) {
        throw new DomainError('account_not_found', 'no such account');
      }
      return { account: toMessage(account) };
    },
    GetAccount: notImplemented,
    GetBalances: notImplemented,
    ListEntries: notImplemented,
    GetBalance(request) {
      const account = accounts.get(request.accountId);
      if (account === undefined) throw new DomainError('account_not_found', 'no such account');
      return {
        balance: {
          accountId: account.accountId,
          currency: account.currency,
          available: String(account.balance),
          asOf: toTimestamp(Date.now()),
          stale: false,
          version: '1',
        },
      };
    },
    async Transfer(request) {
      ledger.transferCalls.push(request);
      if (ledger.transferDelayMs > 0) await delay(ledger.transferDelayMs);
      if (ledger.down) throw new GrpcStatusError(UNAVAILABLE, 'ledger down');
      const previous = ledger.applied.get(request.transferId);
      if (previous !== undefined) {
        if (!samePostings(previous, request)) throw new DomainError('transfer_id_reused', 'other postings');
        if (ledger.loseTransferAnswers) throw new GrpcStatusError(UNAVAILABLE, 'answer lost');
        return { transfer: toTransfer(previous), replayed: true, balances: [] };
      }
      for (const posting of request.postings) {
        const from = accounts.get(posting.fromAccountId);
        const to = accounts.get(posting.toAccountId);
        if (from === undefined || to === undefined)
          throw new DomainError('account_not_found', 'no such account');
        if (from.currency !== posting.currency || to.currency !== posting.currency) {
          throw new DomainError('invalid_request', 'currency mismatch');
        }
        if (!from.overdraftAllowed && from.balance < Number(posting.amount)) {
          throw new DomainError('insufficient_funds', 'insufficient funds', {
            accountId: from.accountId,
            available: from.balance,
          });
        }
      }
      for (const posting of request.postings) {
        const from = accounts.get(posting.fromAccountId);
        const to = accounts.get(posting.toAccountId);
        if (from && to) {
          from.balance -= Number(posting.amount);
          to.balance += Number(posting.amount);
        }
      }
      ledger.applied.set(request.transferId, request);
      if (ledger.loseTransferAnswers) throw new GrpcStatusError(UNAVAILABLE, 'answer lost');
      return { transfer: toTransfer(request), replayed: false, balances: [] };
    },
    GetTransfer(request) {
      if (ledger.getTransferDown) throw new GrpcStatusError(UNAVAILABLE, 'ledger down');
      const applied = ledger.applied.get(request.transferId);
      if (applied === undefined) throw new DomainError('not_found', 'no such transfer');
      return { transfer: toTransfer(applied) };
    },
  });
  const port = await server.listen(0);
  return Object.assign(ledger, { address: `127.0.0.1:${port}`, close: () => server.shutdown(0) });
}
