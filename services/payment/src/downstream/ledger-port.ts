import { DomainError, type GrpcClient, type KobanProtos } from '@koban/platform';
import { serviceUnavailable } from '../payment-errors.js';
import { GrpcStatus as grpcStatus } from '@koban/platform';
import { CURRENCY } from '../money.js';

/** The ledger currency of cashback points. */
const POINTS = 'POINTS';

/** The ledger's gRPC client, built in main.ts with the payment→ledger policy. */
export type LedgerClient = GrpcClient<KobanProtos['koban']['ledger']['v1']['LedgerService']['service']>;

/** Why money moves, as the ledger records it on every entry. */
export type LedgerTransferKind =
  'TRANSFER_KIND_PAYMENT' | 'TRANSFER_KIND_PEER' | 'TRANSFER_KIND_REFUND' | 'TRANSFER_KIND_TOPUP';

/** The system accounts money enters the platform through (opened by the ledger at start). */
export type SettlementAccount = 'bank-settlement' | 'card-settlement';

/** One single-posting ledger transfer, identified by a transfer id chosen by payment. */
export interface LedgerTransfer {
  transferId: string;
  kind: LedgerTransferKind;
  /** The payment, refund or P2P transfer the money moves for. */
  referenceId: string;
  fromAccountId: string;
  toAccountId: string;
  amount: number;
  description: string;
}

/**
 * What a transfer attempt came to. `unavailable` means the answer is unknown: the ledger may or
 * may not have applied it, so the caller keeps its resource PENDING and asks again later with the
 * same transfer id.
 */
export type LedgerTransferOutcome =
  | { kind: 'applied' }
  | { kind: 'insufficient_funds' }
  | { kind: 'rejected'; code: string; message: string }
  | { kind: 'unavailable'; error: unknown };

/** The ledger as payment uses it: account lookups and idempotent transfers. */
export interface LedgerPort {
  /** A user's JPY wallet account id, or undefined when the user has none. */
  findWallet(userId: string): Promise<string | undefined>;
  /** A merchant's JPY takings account id, or undefined when there is no such merchant. */
  findMerchantAccount(merchantId: string): Promise<string | undefined>;
  /** A user's POINTS account id (where cashback goes), or undefined when the user has none. */
  findPointsAccount(userId: string): Promise<string | undefined>;
  /** A settlement account's id; remembered once found (system accounts never change). */
  findSettlementAccount(name: SettlementAccount): Promise<string | undefined>;
  /** Applies a transfer, at most once per transfer id. Never throws for the dependency's failures. */
  transfer(transfer: LedgerTransfer): Promise<LedgerTransferOutcome>;
  /** Whether a transfer id has been applied; throws `service_unavailable` when the ledger cannot say. */
  transferApplied(transferId: string): Promise<boolean>;
}

const isNotFound = (error: DomainError): boolean =>
  error.code === 'not_found' || error.code === 'account_not_found' || error.status === grpcStatus.NOT_FOUND;

/**
 * Everything that is not the ledger's business answer (a DomainError other than
 * `service_unavailable`) is an infrastructure failure: unavailable, deadline, open breaker,
 * timeout, bulkhead.
 */
const isBusinessAnswer = (error: unknown): error is DomainError =>
  error instanceof DomainError && error.code !== 'service_unavailable';

export function createLedgerPort(client: LedgerClient): LedgerPort {
  async function lookup(
    ownerType: 'OWNER_TYPE_USER' | 'OWNER_TYPE_MERCHANT' | 'OWNER_TYPE_SYSTEM',
    kind: 'ACCOUNT_KIND_WALLET' | 'ACCOUNT_KIND_MERCHANT' | 'ACCOUNT_KIND_POINTS' | 'ACCOUNT_KIND_SETTLEMENT',
    ownerId: string,
    currency: string = CURRENCY,
  ): Promise<string | undefined> {
    try {
      const { account } = await client.lookupAccount({ ownerType, ownerId, kind, currency });
      return account?.accountId || undefined;
    } catch (error) {
      if (isBusinessAnswer(error) && isNotFound(error)) return undefined;
      if (isBusinessAnswer(error)) throw error;
      throw serviceUnavailable(error);
    }
  }

  const settlementAccounts = new Map<SettlementAccount, string>();

  return {
    findWallet: (userId) => lookup('OWNER_TYPE_USER', 'ACCOUNT_KIND_WALLET', userId),
    findMerchantAccount: (merchantId) => lookup('OWNER_TYPE_MERCHANT', 'ACCOUNT_KIND_MERCHANT', merchantId),
    findPointsAccount: (userId) => lookup('OWNER_TYPE_USER', 'ACCOUNT_KIND_POINTS', userId, POINTS),

    async findSettlementAccount(name) {
      const known = settlementAccounts.get(name);
      if (known !== undefined) return known;
      const accountId = await lookup('OWNER_TYPE_SYSTEM', 'ACCOUNT_KIND_SETTLEMENT', name);
      if (accountId !== undefined) settlementAccounts.set(name, accountId);
      return accountId;
    },

    async transfer(transfer) {
      try {
        await client.transfer({
          transferId: transfer.transferId,
          kind: transfer.kind,
          referenceId: transfer.referenceId,
          description: transfer.description,
          postings: [
            {
              fromAccountId: transfer.fromAccountId,
              toAccountId: transfer.toAccountId,
              amount: String(transfer.amount),
              currency: CURRENCY,
            },
          ],
        });
        return { kind: 'applied' };
      } catch (error) {
        if (!isBusinessAnswer(error)) return { kind: 'unavailable', error };
        if (error.code === 'insufficient_funds') return { kind: 'insufficient_funds' };
        return { kind: 'rejected', code: error.code, message: error.message };
      }
    },

    async transferApplied(transferId) {
      try {
        const { transfer } = await client.getTransfer({ transferId });
        return transfer !== null && transfer.transferId !== '';
      } catch (error) {
        if (isBusinessAnswer(error) && isNotFound(error)) return false;
        throw serviceUnavailable(error);
      }
    },
  };
}
