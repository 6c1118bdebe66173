// An in-memory CampaignService (campaign-promo) with the campaign administration the gateway
// uses; tests set granted points directly to see them in GET /v1/campaigns/{id}.
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import {
  DomainError,
  GrpcStatusError,
  createGrpcServer,
  loadProtos,
  timestampToMillis,
  toTimestamp,
  type GrpcServer,
  type KobanProtos,
  type Logger,
  type ServiceHandlers,
} from '@koban/platform';
import type { FaultMode } from './fake-ledger.js';

type CampaignDefinition = KobanProtos['koban']['campaign']['v1']['CampaignService']['service'];
type Handlers = ServiceHandlers<CampaignDefinition>;
type CreateRequest = Parameters<Handlers['CreateCampaign']>[0];

const campaignErrorStatus = {
  invalid_request: grpc.status.INVALID_ARGUMENT,
  not_found: grpc.status.NOT_FOUND,
  service_unavailable: grpc.status.UNAVAILABLE,
} as const;

interface StoredCampaign {
  campaignId: string;
  request: CreateRequest;
  grantedPoints: bigint;
  createdAt: number;
}

export interface FakeCampaign {
  address: string;
  /** Every CreateCampaign request received, newest last. */
  created: CreateRequest[];
  /** Records points granted by a campaign, as payments would. */
  grant(campaignId: string, points: number): void;
  setFault(mode: FaultMode): void;
  close(): Promise<void>;
}

export async function startFakeCampaign(logger: Logger): Promise<FakeCampaign> {
  let fault: FaultMode = { kind: 'none' };
  const campaigns = new Map<string, StoredCampaign>();
  const created: CreateRequest[] = [];

  async function misbehave(): Promise<void> {
    if (fault.kind === 'unavailable') throw new GrpcStatusError(grpc.status.UNAVAILABLE, 'campaign is down');
    if (fault.kind === 'internal') throw new GrpcStatusError(grpc.status.INTERNAL, 'internal error');
    if (fault.kind === 'slow') await delay(fault.ms);
  }

  function message(campaign: StoredCampaign) {
    const { request } = campaign;
    const budget = BigInt(request.budgetPoints);
    return {
      campaignId: campaign.campaignId,
      name: request.name,
      cashbackBps: request.cashbackBps,
      maxPointsPerPayment: request.maxPointsPerPayment,
      budgetPoints: request.budgetPoints,
      startsAt: request.startsAt,
      endsAt: request.endsAt,
      merchantIds: request.merchantIds,
      grantedPoints: campaign.grantedPoints.toString(),
      remainingPoints: (budget - campaign.grantedPoints).toString(),
      createdAt: toTimestamp(campaign.createdAt),
    };
  }

  const notUsed = () => {
    throw new GrpcStatusError(grpc.status.UNIMPLEMENTED, 'not used by the gateway');
  };

  const handlers: Handlers = {
    async CreateCampaign(request) {
      await misbehave();
      created.push(request);
      if (!request.startsAt || !request.endsAt) {
        throw new DomainError('invalid_request', 'a campaign needs a window', {
          fields: { startsAt: 'is required' },
        });
      }
      if (timestampToMillis(request.endsAt) <= timestampToMillis(request.startsAt)) {
        throw new DomainError('invalid_request', 'the window ends before it starts', {
          fields: { endsAt: 'must be after startsAt' },
        });
      }
      const campaign: StoredCampaign = {
        campaignId: `cmp_${randomBytes(8).toString('hex')}`,
        request,
        grantedPoints: 0n,
        createdAt: Date.now(),
      };
      campaigns.set(campaign.campaignId, campaign);
      return { campaign: message(campaign) };
    },

    async GetCampaign(request) {
      await misbehave();
      const campaign = campaigns.get(request.campaignId);
      if (!campaign) throw new DomainError('not_found', 'no such campaign');
      return { campaign: message(campaign) };
    },

    ListCampaigns: notUsed,
    GrantCashback: notUsed,
    GetCashbackGrant: notUsed,
    ClawbackCashback: notUsed,
  };

  const server: GrpcServer = createGrpcServer({
    serviceName: 'campaign-promo',
    logger,
    domainErrorStatus: campaignErrorStatus,
  });
  server.addService(loadProtos().koban.campaign.v1.CampaignService.service, handlers);
  const port = await server.listen(0);
  return {
    address: `127.0.0.1:${port}`,
    created,
    grant(campaignId, points) {
      const campaign = campaigns.get(campaignId);
      if (!campaign) throw new Error(`no campaign ${campaignId}`);
      campaign.grantedPoints += BigInt(points);
    },
    setFault: (mode) => {
      fault = mode;
    },
    close: () => server.shutdown(0),
  };
}
