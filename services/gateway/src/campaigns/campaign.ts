import { toTimestamp } from '@koban/platform';
import { z } from 'zod';
import { int64ToNumber, isoTime, type Campaign, type CampaignClient } from '../downstream-clients.js';

type CreateCampaignRequest = Parameters<CampaignClient['createCampaign']>[0];

/** API.md: cashback is in basis points of the amount paid (100 = 1 %), at most all of it. */
export const MAX_CASHBACK_BPS = 10_000;

const points = z.number().int().min(1, 'must be at least 1').max(Number.MAX_SAFE_INTEGER, 'is too large');
const instant = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time with a zone' });

/** `POST /v1/campaigns` (admin). */
export const campaignBody = z
  .object({
    name: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
    cashbackBps: z
      .number()
      .int()
      .min(1, `must be from 1 to ${MAX_CASHBACK_BPS}`)
      .max(MAX_CASHBACK_BPS, `must be from 1 to ${MAX_CASHBACK_BPS}`),
    maxPointsPerPayment: points,
    budgetPoints: points,
    startsAt: instant,
    endsAt: instant,
    merchantIds: z
      .array(z.string().min(1, 'must not be empty'))
      .max(1_000, 'must list at most 1000 merchants')
      .optional(),
  })
  .refine((body) => Date.parse(body.endsAt) > Date.parse(body.startsAt), {
    path: ['endsAt'],
    message: 'must be after startsAt',
  });

export type CampaignBody = z.infer<typeof campaignBody>;

/** campaign-promo's CreateCampaign for a validated body; merchants listed once each. */
export function createCampaignRequest(body: CampaignBody): CreateCampaignRequest {
  return {
    name: body.name,
    cashbackBps: body.cashbackBps,
    maxPointsPerPayment: String(body.maxPointsPerPayment),
    budgetPoints: String(body.budgetPoints),
    startsAt: toTimestamp(new Date(body.startsAt)),
    endsAt: toTimestamp(new Date(body.endsAt)),
    merchantIds: [...new Set(body.merchantIds ?? [])],
  };
}

/** The API's shape of a campaign: its terms, and the points granted and left of its budget. */
export function campaignView(campaign: Campaign) {
  return {
    campaignId: campaign.campaignId,
    name: campaign.name,
    cashbackBps: campaign.cashbackBps,
    maxPointsPerPayment: int64ToNumber(campaign.maxPointsPerPayment),
    budgetPoints: int64ToNumber(campaign.budgetPoints),
    startsAt: isoTime(campaign.startsAt) ?? null,
    endsAt: isoTime(campaign.endsAt) ?? null,
    merchantIds: campaign.merchantIds,
    grantedPoints: int64ToNumber(campaign.grantedPoints),
    remainingPoints: int64ToNumber(campaign.remainingPoints),
    createdAt: isoTime(campaign.createdAt) ?? null,
  };
}
