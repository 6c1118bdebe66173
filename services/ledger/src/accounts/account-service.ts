// Account use cases: open (idempotently), find, and read balances.
import type { Logger } from '@koban/platform';
import type { BalanceCache } from '../balance/balance-cache.js';
import { fromCachedBalance } from '../balance/balance-cache.js';
import { accountNotFound, isLedgerError } from '../ledger-error.js';
import { isDatabaseUnavailableError, isDuplicateKeyError } from '../sql.js';
import {
  JPY,
  checkAccountId,
  checkAccountIds,
  newAccountId,
  soleAccount,
  systemSettlementOwners,
  validateLookup,
  validateOpenAccount,
  type Account,
  type Balance,
  type LookupAccountInput,
  type OpenAccountInput,
} from './account.js';
import type { AccountStore } from './account-store.js';

export interface AccountService {
  /** Opens the account, or returns the existing one with the same owner, kind and currency. */
  openAccount(input: OpenAccountInput): Promise<{ account: Account; created: boolean }>;
  getAccount(accountId: string): Promise<Account>;
  lookupAccount(input: LookupAccountInput): Promise<Account>;
  getBalance(accountId: string): Promise<Balance>;
  /** Balances in the order asked; all or `account_not_found` for the first unknown one. */
  getBalances(accountIds: readonly string[]): Promise<Balance[]>;
  /** Opens the well-known system settlement accounts (idempotent); run at start. */
  openSystemAccounts(): Promise<Account[]>;
}

export interface AccountServiceDeps {
  store: AccountStore;
  balanceCache: BalanceCache;
  logger: Logger;
  now?: () => Date;
}

// Two callers opening the same account race on the unique owner key; the loser reads the
// winner's row. A collision of random ids is retried with a fresh id.
const maxOpenAttempts = 3;

export function createAccountService(deps: AccountServiceDeps): AccountService {
  const { store, balanceCache } = deps;
  const logger = deps.logger.child({ component: 'accounts' });
  const now = deps.now ?? (() => new Date());
  // Answering from the cache is logged when it starts and when it ends, not on every call.
  let answeringFromCache = false;

  async function openAccount(input: OpenAccountInput): Promise<{ account: Account; created: boolean }> {
    const checked = validateOpenAccount(input);
    if (!checked.ok) throw checked.error;
    const command = checked.value;
    for (let attempt = 1; ; attempt += 1) {
      const existing = await store.findByKey(command);
      if (existing) return { account: existing, created: false };
      const account: Account = { ...command, accountId: newAccountId(), createdAt: now() };
      try {
        await store.insert(account);
      } catch (error) {
        if (!isDuplicateKeyError(error) || attempt >= maxOpenAttempts) throw error;
        continue;
      }
      logger.info(
        { accountId: account.accountId, ownerType: account.ownerType, kind: account.kind },
        'account opened',
      );
      void balanceCache.write([
        {
          accountId: account.accountId,
          currency: account.currency,
          available: 0n,
          version: 0n,
          asOf: account.createdAt,
          stale: false,
        },
      ]);
      return { account, created: true };
    }
  }

  async function getAccount(accountId: string): Promise<Account> {
    const checked = checkAccountId(accountId, 'accountId');
    if (!checked.ok) throw checked.error;
    const account = await store.findById(accountId);
    if (!account) throw accountNotFound(accountId);
    return account;
  }

  async function lookupAccount(input: LookupAccountInput): Promise<Account> {
    const checked = validateLookup(input);
    if (!checked.ok) throw checked.error;
    const found = soleAccount(checked.value, await store.findByLookup(checked.value));
    if (!found.ok) throw found.error;
    return found.value;
  }

  async function balancesFromDatabase(accountIds: readonly string[]): Promise<Balance[]> {
    const stored = await store.balances(accountIds);
    if (answeringFromCache) {
      answeringFromCache = false;
      logger.info('database reachable again; balances answered from it');
    }
    const asOf = now();
    const balances = accountIds.map((accountId) => {
      const row = stored.get(accountId);
      if (!row) throw accountNotFound(accountId);
      return {
        accountId,
        currency: row.currency,
        available: row.balance,
        version: row.version,
        asOf,
        stale: false,
      };
    });
    // Keeps the gateway's fallback warm for accounts that have not moved since Redis lost them.
    void balanceCache.write(balances);
    return balances;
  }

  /**
   * With the database unreachable, the cached figures marked stale, if every account has one;
   * otherwise undefined (the caller rethrows the database failure).
   */
  async function balancesFromCache(accountIds: readonly string[]): Promise<Balance[] | undefined> {
    try {
      const cached = await balanceCache.read(accountIds);
      if (cached.some((entry) => entry === undefined)) return undefined;
      return cached.flatMap((entry) => (entry ? [fromCachedBalance(entry)] : []));
    } catch (err) {
      logger.warn({ err }, 'balance cache unreadable too');
      return undefined;
    }
  }

  async function getBalances(accountIds: readonly string[]): Promise<Balance[]> {
    const checked = checkAccountIds(accountIds);
    if (!checked.ok) throw checked.error;
    try {
      return await balancesFromDatabase(checked.value);
    } catch (error) {
      if (isLedgerError(error) || !isDatabaseUnavailableError(error)) throw error;
      const cached = await balancesFromCache(checked.value);
      if (cached === undefined) throw error;
      if (!answeringFromCache) {
        answeringFromCache = true;
        logger.warn({ err: error }, 'database unreachable; answering balances from the cache (stale)');
      }
      return cached;
    }
  }

  async function getBalance(accountId: string): Promise<Balance> {
    const checked = checkAccountId(accountId, 'accountId');
    if (!checked.ok) throw checked.error;
    const [balance] = await getBalances([accountId]);
    if (!balance) throw accountNotFound(accountId);
    return balance;
  }

  async function openSystemAccounts(): Promise<Account[]> {
    const opened: Account[] = [];
    for (const ownerId of systemSettlementOwners) {
      const { account } = await openAccount({
        ownerType: 'system',
        ownerId,
        kind: 'settlement',
        currency: JPY,
        overdraftAllowed: true,
      });
      opened.push(account);
    }
    return opened;
  }

  return { openAccount, getAccount, lookupAccount, getBalance, getBalances, openSystemAccounts };
}
