// Reads the totals the invariants are checked over, all in one snapshot so that transfers
// committing meanwhile cannot make a sound ledger look broken. A full scan: an audit for tests,
// operators and chaos experiments, not for the request path.
import type { Db } from '@koban/platform';
import { selectRows } from '../sql.js';
import type { LedgerTotals } from './invariants.js';

// How many irregular postings or transfers one audit reports; more means the same story.
const maxReported = 1000;

interface SumsRow {
  debits: string | null;
  credits: string | null;
}

interface AccountTotalsRow {
  account_id: string;
  currency: string;
  overdraft_allowed: number | boolean;
  balance: string;
  version: string;
  entry_sum: string | null;
  entry_count: string | null;
  last_balance_after: string | null;
}

interface PostingRow {
  transfer_id: string;
  posting_index: number;
  legs: string;
  debit_legs: string;
  net: string;
}

interface TransferRow {
  transfer_id: string;
  posting_count: number;
  postings_with_entries: string;
}

/** The totals of the whole ledger, read in one read-only snapshot. */
export function readLedgerTotals(db: Db): Promise<LedgerTotals> {
  return db.transaction(
    async (conn) => {
      const [sums] = await selectRows<SumsRow>(
        conn,
        `SELECT SUM(CASE WHEN amount < 0 THEN -amount ELSE 0 END) AS debits,
                SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END) AS credits
           FROM entries`,
        [],
      );
      const accounts = await selectRows<AccountTotalsRow>(
        conn,
        `SELECT a.account_id, a.currency, a.overdraft_allowed, a.balance, a.version,
                e.entry_sum, e.entry_count, last.balance_after AS last_balance_after
           FROM accounts a
           LEFT JOIN (SELECT account_id, SUM(amount) AS entry_sum, COUNT(*) AS entry_count,
                             MAX(account_sequence) AS last_sequence
                        FROM entries GROUP BY account_id) e
             ON e.account_id = a.account_id
           LEFT JOIN entries last
             ON last.account_id = a.account_id AND last.account_sequence = e.last_sequence`,
        [],
      );
      const postings = await selectRows<PostingRow>(
        conn,
        `SELECT transfer_id, posting_index, COUNT(*) AS legs,
                SUM(CASE WHEN amount < 0 THEN 1 ELSE 0 END) AS debit_legs, SUM(amount) AS net
           FROM entries GROUP BY transfer_id, posting_index
         HAVING COUNT(*) <> 2 OR SUM(amount) <> 0 OR SUM(CASE WHEN amount < 0 THEN 1 ELSE 0 END) <> 1
          LIMIT ?`,
        [maxReported],
      );
      const transfers = await selectRows<TransferRow>(
        conn,
        `SELECT t.transfer_id, t.posting_count, COUNT(DISTINCT e.posting_index) AS postings_with_entries
           FROM transfers t LEFT JOIN entries e ON e.transfer_id = t.transfer_id
          GROUP BY t.transfer_id, t.posting_count
         HAVING COUNT(DISTINCT e.posting_index) <> t.posting_count
          LIMIT ?`,
        [maxReported],
      );
      return {
        debits: BigInt(sums?.debits ?? 0),
        credits: BigInt(sums?.credits ?? 0),
        accounts: accounts.map((row) => ({
          accountId: row.account_id,
          currency: row.currency,
          overdraftAllowed: Boolean(row.overdraft_allowed),
          balance: BigInt(row.balance),
          version: BigInt(row.version),
          entrySum: BigInt(row.entry_sum ?? 0),
          entryCount: BigInt(row.entry_count ?? 0),
          lastBalanceAfter: row.last_balance_after === null ? undefined : BigInt(row.last_balance_after),
        })),
        irregularPostings: postings.map((row) => ({
          transferId: row.transfer_id,
          postingIndex: Number(row.posting_index),
          legs: Number(row.legs),
          debitLegs: Number(row.debit_legs),
          net: BigInt(row.net),
        })),
        incompleteTransfers: transfers.map((row) => ({
          transferId: row.transfer_id,
          postingCount: Number(row.posting_count),
          postingsWithEntries: Number(row.postings_with_entries),
        })),
      };
    },
    { label: 'ledger.audit' },
  );
}
