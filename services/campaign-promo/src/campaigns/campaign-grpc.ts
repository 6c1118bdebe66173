import { fromTimestamp, toTimestamp } from '@koban/platform';
import type { CampaignHandlers, CampaignMessage } from '../rpc.js';
import { checkNewCampaign, remainingPoints, type Campaign } from './campaign.js';
import type { CampaignService } from './campaign-service.js';

export function campaignToProto(campaign: Campaign): CampaignMessage {
  return {
    campaignId: campaign.campaignId,
    name: campaign.name,
    cashbackBps: campaign.cashbackBps,
    maxPointsPerPayment: String(campaign.maxPointsPerPayment),
    budgetPoints: String(campaign.budgetPoints),
    startsAt: toTimestamp(campaign.startsAt),
    endsAt: toTimestamp(campaign.endsAt),
    merchantIds: [...campaign.merchantIds],
    grantedPoints: String(campaign.grantedPoints),
    remainingPoints: String(remainingPoints(campaign)),
    createdAt: toTimestamp(campaign.createdAt),
  };
}

export function campaignHandlers(
  service: CampaignService,
): Pick<CampaignHandlers, 'CreateCampaign' | 'GetCampaign' | 'ListCampaigns'> {
  return {
    async CreateCampaign(request) {
      const fields = checkNewCampaign({
        name: request.name,
        cashbackBps: request.cashbackBps,
        maxPointsPerPayment: request.maxPointsPerPayment,
        budgetPoints: request.budgetPoints,
        startsAt: fromTimestamp(request.startsAt),
        endsAt: fromTimestamp(request.endsAt),
        merchantIds: request.merchantIds,
      });
      return { campaign: campaignToProto(await service.create(fields)) };
    },

    async GetCampaign(request) {
      return { campaign: campaignToProto(await service.get(request.campaignId)) };
    },

    async ListCampaigns(request) {
      const page = await service.list(request.pageSize, request.pageToken);
      return { campaigns: page.campaigns.map(campaignToProto), nextPageToken: page.nextPageToken };
    },
  };
}
