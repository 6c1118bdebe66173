// SQL for transfers, entries and the balances they move: plain objects in and out.
import type { Db } from '@koban/platform';
import { execute, poolStatements, selectRows, type Sql } from '../sql.js';
import type { Entry, LockedAccount, Transfer, TransferKind } from './transfer.js';
import { postingsFromEntries } from './transfer.js';

/** A recorded transfer with its entries and the fingerprint it was recorded with. */
export interface RecordedTransfer {
  transfer: Transfer;
  fingerprint: string;
  entries: Entry[];
}

/** The statements of one transfer's database transaction, all on its connection. */
export interface TransferTransaction {
  /**
   * Locks the accounts with `SELECT … FOR UPDATE`, one at a time in the order given (callers pass
   * them sorted by id, so that two transfers never wait on each other in a cycle), and returns
   * those that exist with their latest committed balance.
   */
  lockAccounts(accountIdsInLockOrder: readonly string[]): Promise<Map<string, LockedAccount>>;
  /** Records the transfer; a recorded transfer id rejects with the driver's 1062. */
  insertTransfer(transfer: Transfer, fingerprint: string): Promise<void>;
  insertEntries(entries: readonly Entry[]): Promise<void>;
  /** Writes the new balances and versions of locked accounts, checking each still had `before`'s version. */
  saveBalances(
    before: ReadonlyMap<string, LockedAccount>,
    after: readonly LockedAccount[],
    at: Date,
  ): Promise<void>;
}

export interface TransferStore {
  /** The transfer as committed (read outside any transaction), or undefined. */
  findTransfer(transferId: string): Promise<RecordedTransfer | undefined>;
  /** Runs `fn` in one database transaction, retried whole on deadlocks and write conflicts. */
  inTransaction<T>(fn: (tx: TransferTransaction) => Promise<T>): Promise<T>;
  /** Up to `limit` entries of the account, newest first, older than `beforeSequence` if given. */
  listEntries(accountId: string, beforeSequence: bigint | undefined, limit: number): Promise<Entry[]>;
}

interface TransferRow {
  transfer_id: string;
  kind: string;
  reference_id: string;
  description: string;
  posting_count: number;
  fingerprint: string;
  created_at: Date;
}

interface EntryRow {
  entry_id: string;
  account_id: string;
  account_sequence: string;
  transfer_id: string;
  posting_index: number;
  counterparty_account_id: string;
  amount: string;
  currency: string;
  balance_after: string;
  kind: string;
  reference_id: string;
  description: string;
  created_at: Date;
}

interface LockedRow {
  account_id: string;
  currency: string;
  overdraft_allowed: number | boolean;
  balance: string;
  version: string;
}

const entryColumns =
  'entry_id, account_id, account_sequence, transfer_id, posting_index, counterparty_account_id, ' +
  'amount, currency, balance_after, kind, reference_id, description, created_at';

function entryFromRow(row: EntryRow): Entry {
  return {
    entryId: row.entry_id,
    transferId: row.transfer_id,
    accountId: row.account_id,
    counterpartyAccountId: row.counterparty_account_id,
    postingIndex: Number(row.posting_index),
    amount: BigInt(row.amount),
    currency: row.currency,
    balanceAfter: BigInt(row.balance_after),
    sequence: BigInt(row.account_sequence),
    kind: row.kind as TransferKind,
    referenceId: row.reference_id,
    description: row.description,
    createdAt: row.created_at,
  };
}

function transactionOn(conn: Sql): TransferTransaction {
  return {
    async lockAccounts(accountIdsInLockOrder) {
      const locked = new Map<string, LockedAccount>();
      for (const accountId of accountIdsInLockOrder) {
        const [row] = await selectRows<LockedRow>(
          conn,
          `SELECT account_id, currency, overdraft_allowed, balance, version
             FROM accounts WHERE account_id = ? FOR UPDATE`,
          [accountId],
        );
        if (row) {
          locked.set(row.account_id, {
            accountId: row.account_id,
            currency: row.currency,
            overdraftAllowed: Boolean(row.overdraft_allowed),
            balance: BigInt(row.balance),
            version: BigInt(row.version),
          });
        }
      }
      return locked;
    },

    async insertTransfer(transfer, fingerprint) {
      await execute(
        conn,
        `INSERT INTO transfers
           (transfer_id, kind, reference_id, description, posting_count, fingerprint, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [
          transfer.transferId,
          transfer.kind,
          transfer.referenceId,
          transfer.description,
          transfer.postings.length,
          fingerprint,
          transfer.createdAt,
        ],
      );
    },

    async insertEntries(entries) {
      if (entries.length === 0) return;
      await execute(conn, `INSERT INTO entries (${entryColumns}) VALUES ?`, [
        entries.map((entry) => [
          entry.entryId,
          entry.accountId,
          entry.sequence.toString(),
          entry.transferId,
          entry.postingIndex,
          entry.counterpartyAccountId,
          entry.amount.toString(),
          entry.currency,
          entry.balanceAfter.toString(),
          entry.kind,
          entry.referenceId,
          entry.description,
          entry.createdAt,
        ]),
      ]);
    },

    async saveBalances(before, after, at) {
      for (const account of after) {
        const previous = before.get(account.accountId);
        if (!previous) throw new Error(`account ${account.accountId} was not locked by this transaction`);
        const changed = await execute(
          conn,
          `UPDATE accounts SET balance = ?, version = ?, updated_at = ?
            WHERE account_id = ? AND version = ?`,
          [
            account.balance.toString(),
            account.version.toString(),
            at,
            account.accountId,
            previous.version.toString(),
          ],
        );
        // The row is locked by this transaction: anything else is a bug, and must not commit.
        if (changed !== 1) throw new Error(`account ${account.accountId} changed while locked`);
      }
    },
  };
}

export function createTransferStore(db: Db): TransferStore {
  const sql: Sql = poolStatements(db);

  return {
    async findTransfer(transferId) {
      const [row] = await selectRows<TransferRow>(
        sql,
        `SELECT transfer_id, kind, reference_id, description, posting_count, fingerprint, created_at
           FROM transfers WHERE transfer_id = ?`,
        [transferId],
      );
      if (!row) return undefined;
      const entries = (
        await selectRows<EntryRow>(
          sql,
          `SELECT ${entryColumns} FROM entries WHERE transfer_id = ? ORDER BY posting_index, amount`,
          [transferId],
        )
      ).map(entryFromRow);
      const postings = postingsFromEntries(entries);
      if (postings.length !== Number(row.posting_count)) {
        throw new Error(
          `transfer ${transferId} has ${postings.length} debit entries for ${row.posting_count} postings`,
        );
      }
      return {
        transfer: {
          transferId: row.transfer_id,
          kind: row.kind as TransferKind,
          referenceId: row.reference_id,
          description: row.description,
          postings,
          createdAt: row.created_at,
        },
        fingerprint: row.fingerprint,
        entries,
      };
    },

    inTransaction(fn) {
      return db.transaction((conn) => fn(transactionOn(conn)), { label: 'ledger.transfer' });
    },

    async listEntries(accountId, beforeSequence, limit) {
      const rows =
        beforeSequence === undefined
          ? await selectRows<EntryRow>(
              sql,
              `SELECT ${entryColumns} FROM entries WHERE account_id = ?
                ORDER BY account_sequence DESC LIMIT ?`,
              [accountId, limit],
            )
          : await selectRows<EntryRow>(
              sql,
              `SELECT ${entryColumns} FROM entries WHERE account_id = ? AND account_sequence < ?
                ORDER BY account_sequence DESC LIMIT ?`,
              [accountId, beforeSequence.toString(), limit],
            );
      return rows.map(entryFromRow);
    },
  };
}
