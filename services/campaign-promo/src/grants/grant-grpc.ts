import { fromTimestamp, toTimestamp } from '@koban/platform';
import type { CampaignHandlers, GrantMessage } from '../rpc.js';
import { checkGrantRequest, type Grant } from './grant.js';
import type { GrantService } from './grant-service.js';

/**
 * A grant as the proto shows it. A GRANTED grant whose credit the ledger has not confirmed yet
 * (it will be: the worker re-sends it) shows GRANTED without `grantedAt`.
 */
export function grantToProto(grant: Grant): GrantMessage {
  return {
    paymentId: grant.paymentId,
    status: grant.status === 'GRANTED' ? 'GRANT_STATUS_GRANTED' : 'GRANT_STATUS_NONE',
    campaignId: grant.campaignId ?? '',
    points: String(grant.points),
    ledgerTransferId: grant.ledgerTransferId ?? '',
    clawedBackPoints: String(grant.clawedBackPoints),
    grantedAt: grant.grantedAt ? toTimestamp(grant.grantedAt) : null,
  };
}

export function grantHandlers(
  service: GrantService,
): Pick<CampaignHandlers, 'GrantCashback' | 'GetCashbackGrant'> {
  return {
    async GrantCashback(request) {
      const command = checkGrantRequest({
        paymentId: request.paymentId,
        userId: request.userId,
        pointsAccountId: request.pointsAccountId,
        merchantId: request.merchantId,
        amount: request.amount,
        currency: request.currency,
        paidAt: fromTimestamp(request.paidAt),
      });
      const { grant, replayed } = await service.grant(command, 'request');
      return { grant: grantToProto(grant), replayed };
    },

    async GetCashbackGrant(request) {
      return { grant: grantToProto(await service.get(request.paymentId)) };
    },
  };
}
