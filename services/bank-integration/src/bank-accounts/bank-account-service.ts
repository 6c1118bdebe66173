import type { Logger } from '@koban/platform';
import { invalidRequest, notFound } from '../bank-errors.js';
import { checkLinkCommand, newBankAccountId, type BankAccount, type LinkCommand } from './bank-account.js';
import type { BankAccountStore } from './bank-account-store.js';

export interface BankAccountService {
  /** Links an account; linking one the user already linked answers that one. */
  link(command: LinkCommand): Promise<BankAccount>;
  get(bankAccountId: string): Promise<BankAccount>;
  list(userId: string): Promise<BankAccount[]>;
  /** The account when it exists and belongs to the user; undefined otherwise (charges). */
  findOwned(bankAccountId: string, userId: string): Promise<BankAccount | undefined>;
}

export interface BankAccountServiceDeps {
  store: BankAccountStore;
  now: () => Date;
  logger: Logger;
}

export function createBankAccountService(deps: BankAccountServiceDeps): BankAccountService {
  const logger = deps.logger.child({ component: 'bank-accounts' });
  const { store } = deps;
  return {
    async link(command) {
      const { userId, bankCode, accountNumber } = checkLinkCommand(command);
      const existing = await store.findLinked(userId, bankCode, accountNumber);
      if (existing !== undefined) return existing;
      const account: BankAccount = {
        bankAccountId: newBankAccountId(),
        userId,
        bankCode,
        accountNumber,
        createdAt: deps.now(),
      };
      if (!(await store.insert(account))) {
        // Linked at the same moment by a concurrent request: answer that one.
        const raced = await store.findLinked(userId, bankCode, accountNumber);
        if (raced !== undefined) return raced;
        throw new Error('a bank account insert conflicted with a row that cannot be read');
      }
      logger.info({ bankAccountId: account.bankAccountId, userId, bankCode }, 'bank account linked');
      return account;
    },

    async get(bankAccountId) {
      const account = bankAccountId === '' ? undefined : await store.find(bankAccountId);
      if (account === undefined) throw notFound('bank account');
      return account;
    },

    async list(userId) {
      if (userId === '') throw invalidRequest({ userId: 'required' });
      return store.listByUser(userId);
    },

    async findOwned(bankAccountId, userId) {
      const account = await store.find(bankAccountId);
      return account?.userId === userId ? account : undefined;
    },
  };
}
