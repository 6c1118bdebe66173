import { DomainError, GrpcStatus, type GrpcClient, type KobanProtos } from '@koban/platform';
import { serviceUnavailable } from '../campaign-errors.js';

/** The ledger's gRPC client, built in main.ts with the campaign-promo→ledger policy. */
export type LedgerClient = GrpcClient<KobanProtos['koban']['ledger']['v1']['LedgerService']['service']>;

/** The ledger's unit of cashback points. */
export const POINTS = 'POINTS';

/** One single-posting points transfer, identified by a transfer id chosen by this service. */
export interface PointsTransfer {
  transferId: string;
  kind: 'TRANSFER_KIND_CASHBACK' | 'TRANSFER_KIND_CASHBACK_CLAWBACK';
  /** The payment (grant) or refund (clawback) the points move for. */
  referenceId: string;
  fromAccountId: string;
  toAccountId: string;
  points: number;
  description: string;
}

/**
 * What a transfer attempt came to. `unavailable`: the answer is unknown (the ledger may have
 * applied it), so the caller keeps its record PENDING and sends the same transfer id again later.
 * `rejected`: the ledger answered a business error (say, a points account short of points for a
 * clawback); retried later all the same, since it may change.
 */
export type TransferOutcome =
  | { kind: 'applied' }
  | { kind: 'rejected'; code: string; message: string }
  | { kind: 'unavailable'; error: unknown };

/** The ledger as campaign-promo uses it. */
export interface LedgerPort {
  /** Opens (or finds) a campaign's budget account; throws `service_unavailable` when it cannot. */
  openCampaignAccount(campaignId: string): Promise<string>;
  /** A user's points account id, or undefined when the user has none. */
  findPointsAccount(userId: string): Promise<string | undefined>;
  /** Applies a transfer at most once per id; never throws for the ledger's failures. */
  transfer(transfer: PointsTransfer): Promise<TransferOutcome>;
}

const isBusinessAnswer = (error: unknown): error is DomainError =>
  error instanceof DomainError && error.code !== 'service_unavailable';

const isNotFound = (error: DomainError): boolean =>
  error.code === 'account_not_found' || error.code === 'not_found' || error.status === GrpcStatus.NOT_FOUND;

export function createLedgerPort(client: LedgerClient): LedgerPort {
  return {
    async openCampaignAccount(campaignId) {
      try {
        const { account } = await client.openAccount({
          ownerType: 'OWNER_TYPE_SYSTEM',
          ownerId: campaignId,
          kind: 'ACCOUNT_KIND_CAMPAIGN',
          currency: POINTS,
          overdraftAllowed: true,
        });
        if (!account?.accountId) throw new Error('OpenAccount answered without an account');
        return account.accountId;
      } catch (error) {
        throw serviceUnavailable('the ledger could not open the campaign budget account; retry', error);
      }
    },

    async findPointsAccount(userId) {
      try {
        const { account } = await client.lookupAccount({
          ownerType: 'OWNER_TYPE_USER',
          ownerId: userId,
          kind: 'ACCOUNT_KIND_POINTS',
          currency: POINTS,
        });
        return account?.accountId || undefined;
      } catch (error) {
        if (isBusinessAnswer(error) && isNotFound(error)) return undefined;
        throw serviceUnavailable('the ledger could not find the points account; retry', error);
      }
    },

    async transfer(transfer) {
      try {
        await client.transfer({
          transferId: transfer.transferId,
          kind: transfer.kind,
          referenceId: transfer.referenceId,
          postings: [
            {
              fromAccountId: transfer.fromAccountId,
              toAccountId: transfer.toAccountId,
              amount: String(transfer.points),
              currency: POINTS,
            },
          ],
          description: transfer.description,
        });
        return { kind: 'applied' };
      } catch (error) {
        if (isBusinessAnswer(error)) return { kind: 'rejected', code: error.code, message: error.message };
        return { kind: 'unavailable', error };
      }
    },
  };
}
