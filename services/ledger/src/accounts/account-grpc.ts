// Accounts over gRPC: proto messages ↔ domain, for OpenAccount, GetAccount, LookupAccount,
// GetBalance and GetBalances.
import { toTimestamp } from '@koban/platform';
import type {
  AccountKindName,
  AccountMessage,
  BalanceMessage,
  LedgerHandlers,
  OwnerTypeName,
} from '../ledger-proto.js';
import { fromEnum } from '../ledger-proto.js';
import type { Account, AccountKind, Balance, OwnerType } from './account.js';
import type { AccountService } from './account-service.js';

const ownerTypeFromProto: Readonly<Record<OwnerTypeName, OwnerType | undefined>> = {
  OWNER_TYPE_UNSPECIFIED: undefined,
  OWNER_TYPE_USER: 'user',
  OWNER_TYPE_MERCHANT: 'merchant',
  OWNER_TYPE_SYSTEM: 'system',
};

const ownerTypeToProto: Readonly<Record<OwnerType, OwnerTypeName>> = {
  user: 'OWNER_TYPE_USER',
  merchant: 'OWNER_TYPE_MERCHANT',
  system: 'OWNER_TYPE_SYSTEM',
};

const accountKindFromProto: Readonly<Record<AccountKindName, AccountKind | undefined>> = {
  ACCOUNT_KIND_UNSPECIFIED: undefined,
  ACCOUNT_KIND_WALLET: 'wallet',
  ACCOUNT_KIND_POINTS: 'points',
  ACCOUNT_KIND_MERCHANT: 'merchant',
  ACCOUNT_KIND_SETTLEMENT: 'settlement',
  ACCOUNT_KIND_CAMPAIGN: 'campaign',
};

const accountKindToProto: Readonly<Record<AccountKind, AccountKindName>> = {
  wallet: 'ACCOUNT_KIND_WALLET',
  points: 'ACCOUNT_KIND_POINTS',
  merchant: 'ACCOUNT_KIND_MERCHANT',
  settlement: 'ACCOUNT_KIND_SETTLEMENT',
  campaign: 'ACCOUNT_KIND_CAMPAIGN',
};

export function toAccountMessage(account: Account): AccountMessage {
  return {
    accountId: account.accountId,
    ownerType: ownerTypeToProto[account.ownerType],
    ownerId: account.ownerId,
    kind: accountKindToProto[account.kind],
    currency: account.currency,
    overdraftAllowed: account.overdraftAllowed,
    createdAt: toTimestamp(account.createdAt),
  };
}

export function toBalanceMessage(balance: Balance): BalanceMessage {
  return {
    accountId: balance.accountId,
    currency: balance.currency,
    available: balance.available.toString(),
    asOf: toTimestamp(balance.asOf),
    stale: balance.stale,
    version: balance.version.toString(),
  };
}

export function accountHandlers(
  service: AccountService,
): Pick<LedgerHandlers, 'OpenAccount' | 'GetAccount' | 'LookupAccount' | 'GetBalance' | 'GetBalances'> {
  return {
    async OpenAccount(request) {
      const { account, created } = await service.openAccount({
        ownerType: fromEnum(ownerTypeFromProto, request.ownerType),
        ownerId: request.ownerId,
        kind: fromEnum(accountKindFromProto, request.kind),
        currency: request.currency,
        overdraftAllowed: request.overdraftAllowed,
      });
      return { account: toAccountMessage(account), created };
    },

    async GetAccount(request) {
      return { account: toAccountMessage(await service.getAccount(request.accountId)) };
    },

    async LookupAccount(request) {
      const account = await service.lookupAccount({
        ownerType: fromEnum(ownerTypeFromProto, request.ownerType),
        ownerId: request.ownerId,
        kind: fromEnum(accountKindFromProto, request.kind),
        currency: request.currency,
      });
      return { account: toAccountMessage(account) };
    },

    async GetBalance(request) {
      return { balance: toBalanceMessage(await service.getBalance(request.accountId)) };
    },

    async GetBalances(request) {
      return { balances: (await service.getBalances(request.accountIds)).map(toBalanceMessage) };
    },
  };
}
