import { toTimestamp } from '@koban/platform';
import type { CampaignHandlers, ClawbackMessage } from '../rpc.js';
import { checkClawbackRequest, type Clawback } from './clawback.js';
import type { ClawbackService } from './clawback-service.js';

export function clawbackToProto(clawback: Clawback): ClawbackMessage {
  return {
    refundId: clawback.refundId,
    paymentId: clawback.paymentId,
    campaignId: clawback.campaignId ?? '',
    points: String(clawback.points),
    ledgerTransferId: clawback.ledgerTransferId ?? '',
    createdAt: toTimestamp(clawback.createdAt),
  };
}

export function clawbackHandlers(service: ClawbackService): Pick<CampaignHandlers, 'ClawbackCashback'> {
  return {
    async ClawbackCashback(request) {
      const command = checkClawbackRequest({
        refundId: request.refundId,
        paymentId: request.paymentId,
        paymentAmount: request.paymentAmount,
        totalRefundedAmount: request.totalRefundedAmount,
      });
      const { clawback, replayed } = await service.clawback(command);
      return { clawback: clawbackToProto(clawback), replayed };
    },
  };
}
