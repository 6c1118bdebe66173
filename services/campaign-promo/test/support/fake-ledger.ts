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

type LedgerDefinition = KobanProtos['koban']['ledger']['v1']['LedgerService']['service'];
type Handlers = ServiceHandlers<LedgerDefinition>;
export type TransferCall = Parameters<Handlers['Transfer']>[0];
export type OpenAccountCall = Parameters<Handlers['OpenAccount']>[0];

interface Account {
  accountId: string;
  ownerType: OpenAccountCall['ownerType'];
  ownerId: string;
  kind: OpenAccountCall['kind'];
  currency: string;
  overdraftAllowed: boolean;
  balance: number;
  createdAt: Date;
}

const UNAVAILABLE = 14;
const ledgerErrorStatus = {
  invalid_request: 3,
  not_found: 5,
  account_not_found: 5,
  insufficient_funds: 9,
  transfer_id_reused: 6,
} as const;

/**
 * An in-process ledger speaking the real LedgerService proto: accounts opened once per owner,
 * kind and currency; transfers applied at most once per transfer id; no overdraft except where
 * allowed. It records every OpenAccount and Transfer call, and can be made slow or down.
 */
export interface FakeLedger {
  address: string;
  /** A user's POINTS account, as the gateway opens it at sign-up. */
  openPoints(userId: string, balance?: number): string;
  balance(accountId: string): number;
  /** Transfers applied, by id, in the order applied. */
  applied: Map<string, TransferCall>;
  transferCalls: TransferCall[];
  openAccountCalls: OpenAccountCall[];
  /** Transfer and OpenAccount answer UNAVAILABLE (nothing applied). */
  down: boolean;
  /** LookupAccount answers UNAVAILABLE. */
  lookupDown: boolean;
  /** Delay before each Transfer is handled, in ms. */
  transferDelayMs: number;
  close(): Promise<void>;
}

export async function startFakeLedger(): Promise<FakeLedger> {
  const accounts = new Map<string, Account>();
  const byOwner = new Map<string, Account>();
  const ownerKey = (ownerType: string, ownerId: string, kind: string) => `${ownerType}/${ownerId}/${kind}`;
  const samePostings = (a: TransferCall, b: TransferCall) =>
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
    balance: (accountId) => accounts.get(accountId)?.balance ?? Number.NaN,
    applied: new Map(),
    transferCalls: [],
    openAccountCalls: [],
    down: false,
    lookupDown: false,
    transferDelayMs: 0,
  };

  const notImplemented = () => {
    throw new GrpcStatusError(12, 'not in the fake ledger');
  };
  const toTransfer = (call: TransferCall) => ({ ...call, createdAt: toTimestamp(Date.now()) });

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
      if (ledger.transferDelayMs > 0)
        await new Promise((resolve) => setTimeout(resolve, ledger.transferDelayMs));
      if (ledger.down) throw new GrpcStatusError(UNAVAILABLE, 'ledger down');
      const previous = ledger.applied.get(request.transferId);
      if (previous !== undefined) {
        if (!samePostings(previous, request)) throw new DomainError('transfer_id_reused', 'other postings');
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
          throw new DomainError('insufficient_funds', 'insufficient funds', { accountId: from.accountId });
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
      return { transfer: toTransfer(request), replayed: false, balances: [] };
    },
    GetTransfer(request) {
      const applied = ledger.applied.get(request.transferId);
      if (applied === undefined) throw new DomainError('not_found', 'no such transfer');
      return { transfer: toTransfer(applied) };
    },
  });
  const port = await server.listen(0);
  return Object.assign(ledger, { address: `127.0.0.1:${port}`, close: () => server.shutdown(0) });
}
