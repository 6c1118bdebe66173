// An in-memory LedgerService implementing ledger.proto closely enough for the gateway's
// component tests (the real ledger is exercised by the end-to-end suite). Money is BigInt.
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

type LedgerDefinition = KobanProtos['koban']['ledger']['v1']['LedgerService']['service'];
type Handlers = ServiceHandlers<LedgerDefinition>;
type TransferRequest = Parameters<Handlers['Transfer']>[0];
type TransferKind = TransferRequest['kind'];

export interface FakeAccount {
  accountId: string;
  ownerType: string;
  ownerId: string;
  kind: string;
  currency: string;
  overdraftAllowed: boolean;
  balance: bigint;
  version: number;
}

interface FakeEntry {
  entryId: string;
  transferId: string;
  accountId: string;
  counterpartyAccountId: string;
  amount: bigint;
  currency: string;
  balanceAfter: bigint;
  kind: TransferKind;
  referenceId: string;
  description: string;
  createdAt: number;
}

export interface Posting {
  from: string;
  to: string;
  amount: bigint;
  currency: string;
}

/**
 * How the fake misbehaves: answers normally, fails like a dead server, answers late, or fails
 * with a bug (INTERNAL, no error code).
 */
export type FaultMode =
  { kind: 'none' } | { kind: 'unavailable' } | { kind: 'slow'; ms: number } | { kind: 'internal' };

const ledgerErrorStatus = {
  invalid_request: grpc.status.INVALID_ARGUMENT,
  account_not_found: grpc.status.NOT_FOUND,
  currency_mismatch: grpc.status.INVALID_ARGUMENT,
  insufficient_funds: grpc.status.FAILED_PRECONDITION,
  transfer_id_reused: grpc.status.ALREADY_EXISTS,
} as const;

const id = (prefix: string) => `${prefix}_${randomBytes(8).toString('hex')}`;

/** The books: accounts, entries and applied transfers, shared with the fake payment service. */
export class FakeBook {
  readonly accounts = new Map<string, FakeAccount>();
  private readonly byOwner = new Map<string, string>();
  private readonly entries = new Map<string, FakeEntry[]>();
  private readonly transfers = new Map<string, string>();
  /** Calls per RPC name, for tests asserting what the gateway asked. */
  readonly calls = new Map<string, number>();

  open(
    ownerType: string,
    ownerId: string,
    kind: string,
    currency: string,
    overdraftAllowed = false,
  ): FakeAccount {
    const key = `${ownerType}|${ownerId}|${kind}|${currency}`;
    const existing = this.byOwner.get(key);
    if (existing) return this.account(existing);
    const account: FakeAccount = {
      accountId: id('acc'),
      ownerType,
      ownerId,
      kind,
      currency,
      overdraftAllowed,
      balance: 0n,
      version: 0,
    };
    this.accounts.set(account.accountId, account);
    this.byOwner.set(key, account.accountId);
    return account;
  }

  lookup(ownerType: string, ownerId: string, kind: string, currency: string): FakeAccount | undefined {
    const accountId = this.byOwner.get(`${ownerType}|${ownerId}|${kind}|${currency}`);
    return accountId === undefined ? undefined : this.accounts.get(accountId);
  }

  account(accountId: string): FakeAccount {
    const account = this.accounts.get(accountId);
    if (!account) throw new DomainError('account_not_found', 'no such account', { accountId });
    return account;
  }

  /** Applies all postings or none; answers whether it was a replay of the same transfer id. */
  transfer(
    transferId: string,
    kind: TransferKind,
    referenceId: string,
    postings: Posting[],
    description: string,
  ): { replayed: boolean } {
    const fingerprint = JSON.stringify(postings, (_key, value: unknown) =>
      typeof value === 'bigint' ? value.toString() : value,
    );
    const applied = this.transfers.get(transferId);
    if (applied !== undefined) {
      if (applied !== fingerprint) {
        throw new DomainError('transfer_id_reused', 'transfer id already used for other postings', {
          transferId,
        });
      }
      return { replayed: true };
    }
    const deltas = new Map<string, bigint>();
    for (const posting of postings) {
      const from = this.account(posting.from);
      const to = this.account(posting.to);
      if (posting.amount <= 0n) throw new DomainError('invalid_request', 'amount must be positive');
      if (from.currency !== posting.currency || to.currency !== posting.currency) {
        throw new DomainError('currency_mismatch', 'currency does not match the accounts');
      }
      deltas.set(from.accountId, (deltas.get(from.accountId) ?? 0n) - posting.amount);
      deltas.set(to.accountId, (deltas.get(to.accountId) ?? 0n) + posting.amount);
    }
    for (const [accountId, delta] of deltas) {
      const account = this.account(accountId);
      if (!account.overdraftAllowed && account.balance + delta < 0n) {
        throw new DomainError('insufficient_funds', 'insufficient funds', {
          accountId,
          available: account.balance.toString(),
        });
      }
    }
    const now = Date.now();
    for (const posting of postings) {
      for (const [accountId, counterparty, amount] of [
        [posting.from, posting.to, -posting.amount],
        [posting.to, posting.from, posting.amount],
      ] as const) {
        const account = this.account(accountId);
        account.balance += amount;
        account.version += 1;
        const list = this.entries.get(accountId) ?? [];
        list.push({
          entryId: id('ent'),
          transferId,
          accountId,
          counterpartyAccountId: counterparty,
          amount,
          currency: posting.currency,
          balanceAfter: account.balance,
          kind,
          referenceId,
          description,
          createdAt: now,
        });
        this.entries.set(accountId, list);
      }
    }
    this.transfers.set(transferId, fingerprint);
    return { replayed: false };
  }

  entriesOf(accountId: string): FakeEntry[] {
    return [...(this.entries.get(accountId) ?? [])].reverse();
  }

  count(rpc: string): void {
    this.calls.set(rpc, (this.calls.get(rpc) ?? 0) + 1);
  }
}

export interface FakeLedger {
  book: FakeBook;
  address: string;
  /** Changes how every RPC behaves from now on. */
  setFault(mode: FaultMode): void;
  close(): Promise<void>;
}

function balanceMessage(account: FakeAccount) {
  return {
    accountId: account.accountId,
    currency: account.currency,
    available: account.balance.toString(),
    asOf: toTimestamp(Date.now()),
    stale: false,
    version: String(account.version),
  };
}

export async function startFakeLedger(logger: Logger, book = new FakeBook()): Promise<FakeLedger> {
  let fault: FaultMode = { kind: 'none' };
  async function misbehave(rpc: string): Promise<void> {
    book.count(rpc);
    if (fault.kind === 'unavailable') throw new GrpcStatusError(grpc.status.UNAVAILABLE, 'ledger is down');
    if (fault.kind === 'internal') throw new GrpcStatusError(grpc.status.INTERNAL, 'internal error');
    if (fault.kind === 'slow') await delay(fault.ms);
  }
  const notUsed = () => {
    throw new GrpcStatusError(grpc.status.UNIMPLEMENTED, 'not used by the gateway');
  };
  const handlers: Handlers = {
    async OpenAccount(request) {
      await misbehave('OpenAccount');
      const before = book.lookup(request.ownerType, request.ownerId, request.kind, request.currency);
      const account = book.open(
        request.ownerType,
        request.ownerId,
        request.kind,
        request.currency,
        request.overdraftAllowed,
      );
      return {
        account: {
          accountId: account.accountId,
          ownerType: request.ownerType,
          ownerId: account.ownerId,
          kind: request.kind,
          currency: account.currency,
          overdraftAllowed: account.overdraftAllowed,
          createdAt: toTimestamp(Date.now()),
        },
        created: before === undefined,
      };
    },
    async GetBalances(request) {
      await misbehave('GetBalances');
      return { balances: request.accountIds.map((accountId) => balanceMessage(book.account(accountId))) };
    },
    async ListEntries(request) {
      await misbehave('ListEntries');
      const all = book.entriesOf(book.account(request.accountId).accountId);
      const offset = request.pageToken === '' ? 0 : Number(request.pageToken);
      if (!Number.isInteger(offset) || offset < 0) throw new DomainError('invalid_request', 'bad page token');
      const size = request.pageSize === 0 ? 20 : request.pageSize;
      const page = all.slice(offset, offset + size);
      return {
        entries: page.map((entry) => ({
          ...entry,
          amount: entry.amount.toString(),
          balanceAfter: entry.balanceAfter.toString(),
          createdAt: toTimestamp(entry.createdAt),
        })),
        nextPageToken: offset + size < all.length ? String(offset + size) : '',
      };
    },
    async Transfer(request) {
      await misbehave('Transfer');
      const { replayed } = book.transfer(
        request.transferId,
        request.kind,
        request.referenceId,
        request.postings.map((posting) => ({
          from: posting.fromAccountId,
          to: posting.toAccountId,
          amount: BigInt(posting.amount),
          currency: posting.currency,
        })),
        request.description,
      );
      return {
        transfer: { ...request, createdAt: toTimestamp(Date.now()) },
        replayed,
        balances: [],
      };
    },
    GetAccount: notUsed,
    LookupAccount: notUsed,
    GetTransfer: notUsed,
    GetBalance: notUsed,
  };
  const server: GrpcServer = createGrpcServer({
    serviceName: 'ledger',
    logger,
    domainErrorStatus: ledgerErrorStatus,
  });
  server.addService(loadProtos().koban.ledger.v1.LedgerService.service, handlers);
  const port = await server.listen(0);
  return {
    book,
    address: `127.0.0.1:${port}`,
    setFault: (mode) => {
      fault = mode;
    },
    close: () => server.shutdown(0),
  };
}
