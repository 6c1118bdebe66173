import { toTimestamp } from '@koban/platform';
import type { BankIntegrationHandlers, RpcResponse } from '../rpc.js';
import { accountNumberLast4, type BankAccount } from './bank-account.js';
import type { BankAccountService } from './bank-account-service.js';

type BankAccountMessage = NonNullable<RpcResponse<'GetBankAccount'>['bankAccount']>;

/** The account as answers show it: the number's last four digits only. */
export function bankAccountToProto(account: BankAccount): BankAccountMessage {
  return {
    bankAccountId: account.bankAccountId,
    userId: account.userId,
    bankCode: account.bankCode,
    accountNumberLast4: accountNumberLast4(account),
    createdAt: toTimestamp(account.createdAt),
  };
}

export function bankAccountHandlers(
  service: BankAccountService,
): Pick<BankIntegrationHandlers, 'LinkBankAccount' | 'GetBankAccount' | 'ListBankAccounts'> {
  return {
    async LinkBankAccount(request) {
      const account = await service.link({
        userId: request.userId,
        bankCode: request.bankCode,
        accountNumber: request.accountNumber,
      });
      return { bankAccount: bankAccountToProto(account) };
    },
    async GetBankAccount(request) {
      return { bankAccount: bankAccountToProto(await service.get(request.bankAccountId)) };
    },
    async ListBankAccounts(request) {
      return { bankAccounts: (await service.list(request.userId)).map(bankAccountToProto) };
    },
  };
}
