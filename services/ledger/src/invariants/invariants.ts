// The ledger's invariants, checked over totals read from the database in one snapshot. Pure.
//
// 1. Money is conserved: the debits of all entries equal their credits, every posting is one
//    debit and one credit of the same amount, every transfer has all its postings, and in each
//    currency the balances of all accounts add up to zero (every account starts at zero).
// 2. Balances are their history: an account's balance is the sum of its entries, its version is
//    how many entries it has, and its newest entry's balance_after is its balance.
// 3. Only accounts that may overdraft are below zero.

/** One account's columns next to the aggregate of its entries. */
export interface AccountTotals {
  accountId: string;
  currency: string;
  overdraftAllowed: boolean;
  balance: bigint;
  version: bigint;
  entrySum: bigint;
  entryCount: bigint;
  /** balance_after of the entry with the highest sequence; undefined without entries. */
  lastBalanceAfter: bigint | undefined;
}

/** A posting whose entries are not exactly one debit and one credit of the same amount. */
export interface IrregularPosting {
  transferId: string;
  postingIndex: number;
  legs: number;
  debitLegs: number;
  net: bigint;
}

/** A transfer whose recorded posting count differs from the postings found in its entries. */
export interface IncompleteTransfer {
  transferId: string;
  postingCount: number;
  postingsWithEntries: number;
}

export interface LedgerTotals {
  /** Sum of the amounts of all debit entries, as a positive number. */
  debits: bigint;
  /** Sum of the amounts of all credit entries. */
  credits: bigint;
  accounts: AccountTotals[];
  irregularPostings: IrregularPosting[];
  incompleteTransfers: IncompleteTransfer[];
}

export type InvariantViolation =
  | { invariant: 'debits_equal_credits'; debits: string; credits: string }
  | {
      invariant: 'posting_is_one_debit_and_one_credit';
      transferId: string;
      postingIndex: number;
      legs: number;
      net: string;
    }
  | {
      invariant: 'transfer_has_all_postings';
      transferId: string;
      postingCount: number;
      postingsWithEntries: number;
    }
  | { invariant: 'currency_sums_to_zero'; currency: string; sum: string }
  | { invariant: 'balance_is_sum_of_entries'; accountId: string; balance: string; entrySum: string }
  | { invariant: 'version_is_entry_count'; accountId: string; version: string; entryCount: string }
  | {
      invariant: 'balance_is_last_balance_after';
      accountId: string;
      balance: string;
      lastBalanceAfter: string;
    }
  | { invariant: 'no_overdraft'; accountId: string; balance: string };

/** Every invariant the totals break; empty when the ledger is sound. */
export function findInvariantViolations(totals: LedgerTotals): InvariantViolation[] {
  const violations: InvariantViolation[] = [];
  if (totals.debits !== totals.credits) {
    violations.push({
      invariant: 'debits_equal_credits',
      debits: totals.debits.toString(),
      credits: totals.credits.toString(),
    });
  }
  for (const posting of totals.irregularPostings) {
    if (posting.legs !== 2 || posting.debitLegs !== 1 || posting.net !== 0n) {
      violations.push({
        invariant: 'posting_is_one_debit_and_one_credit',
        transferId: posting.transferId,
        postingIndex: posting.postingIndex,
        legs: posting.legs,
        net: posting.net.toString(),
      });
    }
  }
  for (const transfer of totals.incompleteTransfers) {
    if (transfer.postingCount !== transfer.postingsWithEntries) {
      violations.push({ invariant: 'transfer_has_all_postings', ...transfer });
    }
  }

  const sumByCurrency = new Map<string, bigint>();
  for (const account of totals.accounts) {
    sumByCurrency.set(account.currency, (sumByCurrency.get(account.currency) ?? 0n) + account.balance);
    const { accountId } = account;
    if (account.balance !== account.entrySum) {
      violations.push({
        invariant: 'balance_is_sum_of_entries',
        accountId,
        balance: account.balance.toString(),
        entrySum: account.entrySum.toString(),
      });
    }
    if (account.version !== account.entryCount) {
      violations.push({
        invariant: 'version_is_entry_count',
        accountId,
        version: account.version.toString(),
        entryCount: account.entryCount.toString(),
      });
    }
    if (account.lastBalanceAfter !== undefined && account.lastBalanceAfter !== account.balance) {
      violations.push({
        invariant: 'balance_is_last_balance_after',
        accountId,
        balance: account.balance.toString(),
        lastBalanceAfter: account.lastBalanceAfter.toString(),
      });
    }
    if (account.balance < 0n && !account.overdraftAllowed) {
      violations.push({ invariant: 'no_overdraft', accountId, balance: account.balance.toString() });
    }
  }
  for (const [currency, sum] of sumByCurrency) {
    if (sum !== 0n) violations.push({ invariant: 'currency_sums_to_zero', currency, sum: sum.toString() });
  }
  return violations;
}
