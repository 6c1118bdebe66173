import { date, isDuplicateKey, text, type Row, type Sql } from '../sql.js';
import type { BankAccount } from './bank-account.js';

/** SQL of `bank_accounts`. */
export interface BankAccountStore {
  /** Inserts the account; answers false when the user already linked that account. */
  insert(account: BankAccount): Promise<boolean>;
  find(bankAccountId: string): Promise<BankAccount | undefined>;
  findLinked(userId: string, bankCode: string, accountNumber: string): Promise<BankAccount | undefined>;
  /** A user's accounts, newest first. */
  listByUser(userId: string): Promise<BankAccount[]>;
}

const columns = 'bank_account_id, user_id, bank_code, account_number, created_at';

const toBankAccount = (row: Row): BankAccount => ({
  bankAccountId: text(row['bank_account_id']),
  userId: text(row['user_id']),
  bankCode: text(row['bank_code']),
  accountNumber: text(row['account_number']),
  createdAt: date(row['created_at']),
});

export function createBankAccountStore(sql: Sql): BankAccountStore {
  return {
    async insert(account) {
      try {
        await sql.write(`INSERT INTO bank_accounts (${columns}) VALUES (?, ?, ?, ?, ?)`, [
          account.bankAccountId,
          account.userId,
          account.bankCode,
          account.accountNumber,
          account.createdAt,
        ]);
        return true;
      } catch (error) {
        if (isDuplicateKey(error)) return false;
        throw error;
      }
    },

    async find(bankAccountId) {
      const [row] = await sql.rows(`SELECT ${columns} FROM bank_accounts WHERE bank_account_id = ?`, [
        bankAccountId,
      ]);
      return row === undefined ? undefined : toBankAccount(row);
    },

    async findLinked(userId, bankCode, accountNumber) {
      const [row] = await sql.rows(
        `SELECT ${columns} FROM bank_accounts WHERE user_id = ? AND bank_code = ? AND account_number = ?`,
        [userId, bankCode, accountNumber],
      );
      return row === undefined ? undefined : toBankAccount(row);
    },

    async listByUser(userId) {
      const rows = await sql.rows(
        `SELECT ${columns} FROM bank_accounts WHERE user_id = ? ORDER BY created_at DESC, bank_account_id`,
        [userId],
      );
      return rows.map(toBankAccount);
    },
  };
}
