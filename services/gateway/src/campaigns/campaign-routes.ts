import { z } from 'zod';
import type { CampaignClient } from '../downstream-clients.js';
import type { HttpApp } from '../http/app.js';
import type { AccessControl } from '../http/authentication.js';
import { handler } from '../http/request-scope.js';
import { parseOrReject } from '../http/validation.js';
import { campaignBody, campaignView, createCampaignRequest } from './campaign.js';

export interface CampaignRoutesDeps {
  access: AccessControl;
  campaigns: Pick<CampaignClient, 'createCampaign' | 'getCampaign'>;
}

const campaignPath = z.object({ campaignId: z.string().min(1) });

function present<T>(value: T | null | undefined): T {
  if (value === null || value === undefined) throw new Error('campaign-promo answered without a campaign');
  return value;
}

/**
 * Campaign administration (admin token): the gateway→campaign-promo hop. A campaign applies to
 * payments from the moment campaign-promo answers its creation, within its window.
 */
export function registerCampaignRoutes(app: HttpApp, deps: CampaignRoutesDeps): void {
  app.post(
    '/v1/campaigns',
    { onRequest: deps.access.require('admin') },
    handler(async (request) => {
      const body = parseOrReject(campaignBody, request.body);
      const { campaign } = await deps.campaigns.createCampaign(createCampaignRequest(body));
      return { status: 201, body: campaignView(present(campaign)) };
    }),
  );

  app.get(
    '/v1/campaigns/:campaignId',
    { onRequest: deps.access.require('admin') },
    handler(async (request) => {
      const { campaignId } = parseOrReject(campaignPath, request.params);
      const { campaign } = await deps.campaigns.getCampaign({ campaignId });
      return { status: 200, body: campaignView(present(campaign)) };
    }),
  );
}
