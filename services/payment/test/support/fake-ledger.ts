import { randomUUID } from 'node:crypto';
import {
  DomainError,
  GrpcStatusError,
  createGrpcServer,
  createLogger,
  loadProtos,
  toTimestamp,
  type GrpcServer,
  type KobanProtos,
  type ServiceHandlers,
} from '@koban/platform';

type LedgerDefinition = KobanProtos['koban']['ledger']['v1']['LedgerService']['service'];
type Handlers = ServiceHandlers<LedgerDefinition>;
export type TransferCall = Parameters<Handlers['Transfer']>[0];

interface Account {
  accountId: string;
  ownerType: string;
  ownerId: string;
  kind: string;
  currency: string;
  overdraft: boolean;
  balance: number;
}

/**
 * How Transfer misbehaves: `unavailable` fails before applying anything; `lose_answer` applies
 * the transfer (once), then fails every call as if the answer had been lost on the way back.
 */
export type TransferMode = 'ok' | 'unavailable' | 'lose_answer';

const UNAVAILABLE = 14;
const ledgerErrorStatus = {
  invalid_request: 3,
  not_found: 5,
  account_not_found: 5,
  insufficient_funds: 9,
  transfer_id_reused: 6,
} as const;

/**
 * An in-process ledger speaking the real LedgerService proto: accounts, balances, transfers
 * applied at most once per transfer id, insufficient funds. It records every Transfer call.
 */
export interface FakeLedger {
  address: string;
  /** Opens a JPY account with a starting balance; answers its id. */
  open(ownerType: 'OWNER_TYPE_USER' | 'OWNER_TYPE_MERCHANT', ownerId: string, balance?: number): string;
  /** Opens a user's POINTS account; answers its id. */
  openPoints(userId: string): string;
  /** The system settlement accounts (overdraft allowed), opened at start as the real ledger does. */
  settlement: { bank: string; card: string };
  balance(accountId: string): number;
  /** Sets a balance directly, as if money had moved elsewhere. */
  setBalance(accountId: string, balance: number): void;
  transferCalls: TransferCall[];
  /** Transfers applied, by id. */
  applied: Map<string, TransferCall>;
  transferMode: TransferMode;
  getTransferDown: boolean;
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

  const server: GrpcServer = createGrpcServer({
    serviceName: 'ledger',
    logger: createLogger({ service: 'fake-ledger', level: 'silent' }),
    domainErrorStatus: ledgerErrorStatus,
    host: '127.0.0.1',
  });

  const add = (fields: Omit<Account, 'accountId'>): string => {
    const account = { accountId: `acc_${randomUUID()}`, ...fields };
    accounts.set(account.accountId, account);
    byOwner.set(ownerKey(fields.ownerType, fields.ownerId, fields.kind), account);
    return account.accountId;
  };
  const system = (ownerId: string) =>
    add({
      ownerType: 'OWNER_TYPE_SYSTEM',
      ownerId,
      kind: 'ACCOUNT_KIND_SETTLEMENT',
      currency: 'JPY',
      overdraft: true,
      balance: 0,
    });

  const ledger: Omit<FakeLedger, 'address' | 'close'> = {
    open(ownerType, ownerId, balance = 0) {
      const kind = ownerType === 'OWNER_TYPE_USER' ? 'ACCOUNT_KIND_WALLET' : 'ACCOUNT_KIND_MERCHANT';
      return add({ ownerType, ownerId, kind, currency: 'JPY', overdraft: false, balance });
    },
    openPoints: (userId) =>
      add({
        ownerType: 'OWNER_TYPE_USER',
        ownerId: userId,
        kind: 'ACCOUNT_KIND_POINTS',
        currency: 'POINTS',
        overdraft: false,
        balance: 0,
      }),
    settlement: { bank: system('bank-settlement'), card: system('card-settlement') },
    balance: (accountId) => accounts.get(accountId)?.balance ?? Number.NaN,
    setBalance(accountId, balance) {
      const account = accounts.get(accountId);
      if (account) account.balance = balance;
    },
    transferCalls: [],
    applied: new Map(),
    transferMode: 'ok',
    getTransferDown: false,
    transferDelayMs: 0,
  };

  const notImplemented = () => {
    throw new GrpcStatusError(12, 'not in the fake ledger');
  };
  const toTransfer = (call: TransferCall) => ({ ...call, createdAt: toTimestamp(Date.now()) });

  server.addService(loadProtos().koban.ledger.v1.LedgerService.service, {
    OpenAccount: notImplemented,
    GetAccount: notImplemented,
    GetBalance: notImplemented,
    GetBalances: notImplemented,
    ListEntries: notImplemented,
    LookupAccount(request) {
      const account = byOwner.get(ownerKey(request.ownerType, request.ownerId, request.kind));
      if (account === undefined) throw new DomainError('account_not_found', 'no such account');
      return {
        account: {
          accountId: account.accountId,
          ownerType: request.ownerType,
          ownerId: account.ownerId,
          kind: request.kind,
          currency: account.currency,
          overdraftAllowed: account.overdraft,
        },
      };
    },
    async Transfer(request) {
      ledger.transferCalls.push(request);
      if (ledger.transferDelayMs > 0)
        await new Promise((resolve) => setTimeout(resolve, ledger.transferDelayMs));
      if (ledger.transferMode === 'unavailable') throw new GrpcStatusError(UNAVAILABLE, 'ledger down');
      const previous = ledger.applied.get(request.transferId);
      if (previous !== undefined) {
        if (!samePostings(previous, request)) throw new DomainError('transfer_id_reused', 'other postings');
        if (ledger.transferMode === 'lose_answer') throw new GrpcStatusError(UNAVAILABLE, 'answer lost');
        return { transfer: toTransfer(previous), replayed: true, balances: [] };
      }
      for (const posting of request.postings) {
        const from = accounts.get(posting.fromAccountId);
        const to = accounts.get(posting.toAccountId);
        if (from === undefined || to === undefined)
          throw new DomainError('account_not_found', 'no such account');
        if (!from.overdraft && from.balance < Number(posting.amount)) {
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
      if (ledger.transferMode === 'lose_answer') throw new GrpcStatusError(UNAVAILABLE, 'answer lost');
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
  return Object.assign(ledger, {
    address: `127.0.0.1:${port}`,
    close: () => server.shutdown(0),
  });
}
