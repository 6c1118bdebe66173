// SQL for accounts: plain objects in and out.
import type { Db } from '@koban/platform';
import { execute, poolStatements, selectRows, type Sql } from '../sql.js';
import type { Account, AccountKey, AccountKind, AccountLookup, OwnerType } from './account.js';

/** An account's balance columns as read from the database. */
export interface StoredBalance {
  accountId: string;
  currency: string;
  balance: bigint;
  version: bigint;
}

export interface AccountStore {
  /** The account, or undefined. */
  findById(accountId: string): Promise<Account | undefined>;
  /** The account with this natural key, or undefined. */
  findByKey(key: AccountKey): Promise<Account | undefined>;
  /** The owner's accounts of one kind (one per currency), or of one kind and currency. */
  findByLookup(lookup: AccountLookup): Promise<Account[]>;
  /** Inserts a new account with a zero balance; a duplicate id or key rejects with the driver's 1062. */
  insert(account: Account): Promise<void>;
  /** The current balances of the accounts that exist among `accountIds`, keyed by id. */
  balances(accountIds: readonly string[]): Promise<Map<string, StoredBalance>>;
}

interface AccountRow {
  account_id: string;
  owner_type: string;
  owner_id: string;
  kind: string;
  currency: string;
  overdraft_allowed: number | boolean;
  created_at: Date;
}

interface BalanceRow {
  account_id: string;
  currency: string;
  balance: string;
  version: string;
}

const accountColumns = 'account_id, owner_type, owner_id, kind, currency, overdraft_allowed, created_at';

/** Maps a row; the columns only ever hold values written by `insert`. */
export function accountFromRow(row: AccountRow): Account {
  return {
    accountId: row.account_id,
    ownerType: row.owner_type as OwnerType,
    ownerId: row.owner_id,
    kind: row.kind as AccountKind,
    currency: row.currency,
    overdraftAllowed: Boolean(row.overdraft_allowed),
    createdAt: row.created_at,
  };
}

export function createAccountStore(db: Db): AccountStore {
  const sql: Sql = poolStatements(db);

  return {
    async findById(accountId) {
      const rows = await selectRows<AccountRow>(
        sql,
        `SELECT ${accountColumns} FROM accounts WHERE account_id = ?`,
        [accountId],
      );
      return rows[0] && accountFromRow(rows[0]);
    },

    async findByKey(key) {
      const rows = await selectRows<AccountRow>(
        sql,
        `SELECT ${accountColumns} FROM accounts
          WHERE owner_type = ? AND owner_id = ? AND kind = ? AND currency = ?`,
        [key.ownerType, key.ownerId, key.kind, key.currency],
      );
      return rows[0] && accountFromRow(rows[0]);
    },

    async findByLookup(lookup) {
      const rows =
        lookup.currency === undefined
          ? await selectRows<AccountRow>(
              sql,
              `SELECT ${accountColumns} FROM accounts
                WHERE owner_type = ? AND owner_id = ? AND kind = ? ORDER BY currency`,
              [lookup.ownerType, lookup.ownerId, lookup.kind],
            )
          : await selectRows<AccountRow>(
              sql,
              `SELECT ${accountColumns} FROM accounts
                WHERE owner_type = ? AND owner_id = ? AND kind = ? AND currency = ?`,
              [lookup.ownerType, lookup.ownerId, lookup.kind, lookup.currency],
            );
      return rows.map(accountFromRow);
    },

    async insert(account) {
      await execute(
        sql,
        `INSERT INTO accounts
           (account_id, owner_type, owner_id, kind, currency, overdraft_allowed, balance, version,
            created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?)`,
        [
          account.accountId,
          account.ownerType,
          account.ownerId,
          account.kind,
          account.currency,
          account.overdraftAllowed,
          account.createdAt,
          account.createdAt,
        ],
      );
    },

    async balances(accountIds) {
      const found = new Map<string, StoredBalance>();
      if (accountIds.length === 0) return found;
      const unique = [...new Set(accountIds)];
      const rows = await selectRows<BalanceRow>(
        sql,
        'SELECT account_id, currency, balance, version FROM accounts WHERE account_id IN (?)',
        [unique],
      );
      for (const row of rows) {
        found.set(row.account_id, {
          accountId: row.account_id,
          currency: row.currency,
          balance: BigInt(row.balance),
          version: BigInt(row.version),
        });
      }
      return found;
    },
  };
}
