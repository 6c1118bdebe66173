// The CampaignService as served: every RPC's handler, and the one exhaustive map from the
// service's domain error codes to gRPC statuses.
import { GrpcStatus, guardDatabaseUnavailable } from '@koban/platform';
import { serviceUnavailable, type CampaignErrorCode } from './campaign-errors.js';
import { campaignHandlers } from './campaigns/campaign-grpc.js';
import type { CampaignService } from './campaigns/campaign-service.js';
import { clawbackHandlers } from './clawbacks/clawback-grpc.js';
import type { ClawbackService } from './clawbacks/clawback-service.js';
import { grantHandlers } from './grants/grant-grpc.js';
import type { GrantService } from './grants/grant-service.js';
import type { CampaignHandlers } from './rpc.js';

/** The gRPC status of each domain error (proto/README.md). Exhaustive: a new code must be mapped. */
export const campaignErrorStatus = {
  invalid_request: GrpcStatus.INVALID_ARGUMENT,
  not_found: GrpcStatus.NOT_FOUND,
  service_unavailable: GrpcStatus.UNAVAILABLE,
} as const satisfies Readonly<Record<CampaignErrorCode, number>>;

export interface CampaignFeatures {
  campaigns: CampaignService;
  grants: GrantService;
  clawbacks: ClawbackService;
}

export function createCampaignHandlers(features: CampaignFeatures): CampaignHandlers {
  const campaigns = campaignHandlers(features.campaigns);
  const grants = grantHandlers(features.grants);
  const clawbacks = clawbackHandlers(features.clawbacks);
  // An unreachable database answers `service_unavailable` (retry later: every write is idempotent
  // by its payment, refund or campaign id), not INTERNAL, so callers' breakers and fallbacks act.
  const guard = guardDatabaseUnavailable((error) =>
    serviceUnavailable('the campaign database is unavailable; retry', error),
  );
  return {
    CreateCampaign: guard(campaigns.CreateCampaign),
    GetCampaign: guard(campaigns.GetCampaign),
    ListCampaigns: guard(campaigns.ListCampaigns),
    GrantCashback: guard(grants.GrantCashback),
    GetCashbackGrant: guard(grants.GetCashbackGrant),
    ClawbackCashback: guard(clawbacks.ClawbackCashback),
  };
}
