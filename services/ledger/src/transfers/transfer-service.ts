// Transfer use cases: apply a transfer at most once, find it again, page an account's history.
import type { Logger } from '@koban/platform';
import type { Balance } from '../accounts/account.js';
import type { AccountStore } from '../accounts/account-store.js';
import type { BalanceCache } from '../balance/balance-cache.js';
import { accountNotFound, invalidRequest, isLedgerError, ledgerError } from '../ledger-error.js';
import { isDuplicateKeyError } from '../sql.js';
import type { RecordedTransfer, TransferStore } from './transfer-store.js';
import {
  applyPostings,
  balancesAfter,
  encodeEntryCursor,
  lockOrder,
  newEntryId,
  replayOrReuse,
  transferFingerprint,
  validateEntryPage,
  validateTransfer,
  type Entry,
  type Transfer,
  type TransferCommand,
  type TransferInput,
} from './transfer.js';

export interface TransferResult {
  transfer: Transfer;
  /** True when the transfer id had already been applied and nothing moved this time. */
  replayed: boolean;
  /** Every touched account's balance right after the transfer. */
  balances: Balance[];
}

export interface EntryPage {
  entries: Entry[];
  /** Empty when there are no older entries. */
  nextPageToken: string;
}

export interface TransferService {
  transfer(input: TransferInput): Promise<TransferResult>;
  getTransfer(transferId: string): Promise<Transfer>;
  listEntries(input: { accountId: string; pageSize: number; pageToken: string }): Promise<EntryPage>;
}

export interface TransferServiceDeps {
  store: TransferStore;
  accounts: Pick<AccountStore, 'findById'>;
  balanceCache: BalanceCache;
  logger: Logger;
  now?: () => Date;
}

export function createTransferService(deps: TransferServiceDeps): TransferService {
  const { store, balanceCache } = deps;
  const logger = deps.logger.child({ component: 'transfers' });
  const now = deps.now ?? (() => new Date());

  function replay(command: TransferCommand, recorded: RecordedTransfer): TransferResult {
    const decided = replayOrReuse(command, recorded.fingerprint);
    if (!decided.ok) throw decided.error;
    const { transfer, entries } = recorded;
    return {
      transfer,
      replayed: true,
      balances: balancesAfter(transfer.postings, entries, transfer.createdAt),
    };
  }

  /**
   * Applies the transfer in one database transaction: lock the touched accounts in id order,
   * apply the postings to their latest balances, record the transfer (its primary key is the
   * transfer id: the arbiter of "at most once"), its entries and the new balances. A deadlock or
   * write conflict re-runs all of it from the start; nothing outside the connection happens
   * inside, so that is safe.
   */
  async function apply(command: TransferCommand): Promise<TransferResult> {
    const fingerprint = transferFingerprint(command);
    const applied = await store.inTransaction(async (tx) => {
      const locked = await tx.lockAccounts(lockOrder(command.postings));
      const outcome = applyPostings(command, locked, { now: now(), newEntryId });
      if (!outcome.ok) throw outcome.error;
      const { transfer, entries, accounts } = outcome.value;
      await tx.insertTransfer(transfer, fingerprint);
      await tx.insertEntries(entries);
      await tx.saveBalances(locked, accounts, transfer.createdAt);
      return outcome.value;
    });
    logger.debug({ transferId: command.transferId, kind: command.kind }, 'transfer applied');
    void balanceCache.write(applied.balances);
    return { transfer: applied.transfer, replayed: false, balances: applied.balances };
  }

  async function transfer(input: TransferInput): Promise<TransferResult> {
    const checked = validateTransfer(input);
    if (!checked.ok) throw checked.error;
    const command = checked.value;

    // The usual retry of an applied transfer is answered without taking any lock.
    const recorded = await store.findTransfer(command.transferId);
    if (recorded) return replay(command, recorded);

    try {
      return await apply(command);
    } catch (error) {
      // A concurrent request with the same id may have committed first: this one then hit the
      // primary key (1062), or, having waited for the same locks, found the funds already spent.
      // Either way the committed transfer, read now outside the transaction, decides the answer.
      if (!isDuplicateKeyError(error) && !isLedgerError(error)) throw error;
      const winner = await store.findTransfer(command.transferId);
      if (winner) return replay(command, winner);
      throw error;
    }
  }

  async function getTransfer(transferId: string): Promise<Transfer> {
    if (transferId.length === 0) throw invalidRequest({ transferId: 'required' });
    const recorded = await store.findTransfer(transferId);
    if (!recorded) throw ledgerError('not_found', 'transfer not found', { transferId });
    return recorded.transfer;
  }

  async function listEntries(input: {
    accountId: string;
    pageSize: number;
    pageToken: string;
  }): Promise<EntryPage> {
    const checked = validateEntryPage(input);
    if (!checked.ok) throw checked.error;
    const { accountId, pageSize, cursor } = checked.value;
    const rows = await store.listEntries(accountId, cursor?.beforeSequence, pageSize + 1);
    if (rows.length === 0 && !(await deps.accounts.findById(accountId))) throw accountNotFound(accountId);
    const entries = rows.slice(0, pageSize);
    const last = entries.at(-1);
    const nextPageToken =
      rows.length > pageSize && last ? encodeEntryCursor({ accountId, beforeSequence: last.sequence }) : '';
    return { entries, nextPageToken };
  }

  return { transfer, getTransfer, listEntries };
}
