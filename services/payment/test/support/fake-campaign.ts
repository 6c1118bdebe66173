import {
  GrpcStatusError,
  createGrpcServer,
  createLogger,
  loadProtos,
  toTimestamp,
  type KobanProtos,
  type ServiceHandlers,
} from '@koban/platform';

type CampaignDefinition = KobanProtos['koban']['campaign']['v1']['CampaignService']['service'];
type Handlers = ServiceHandlers<CampaignDefinition>;
export type GrantCall = Parameters<Handlers['GrantCashback']>[0];
export type ClawbackCall = Parameters<Handlers['ClawbackCashback']>[0];

interface Grant {
  paymentId: string;
  campaignId: string;
  points: number;
  clawedBack: number;
}

const UNAVAILABLE = 14;

/**
 * An in-process campaign-promo speaking the real proto. GrantCashback grants at most once per
 * payment (a repeat answers the original grant); ClawbackCashback takes back the points of the
 * refunded share at most once per refund. Configurable: the points a payment earns, a delay,
 * down. It records every call.
 */
export interface FakeCampaign {
  address: string;
  /** Points for a payment, from campaign `cmp_test`; 0 is a NONE grant (the default: no campaign). */
  pointsFor: (request: GrantCall) => number;
  /** Delay before each call is handled, in ms. */
  delayMs: number;
  down: boolean;
  grantCalls: GrantCall[];
  clawbackCalls: ClawbackCall[];
  grants: Map<string, Grant>;
  /** Points taken back, by refund id. */
  clawbacks: Map<string, number>;
  close(): Promise<void>;
}

export async function startFakeCampaign(): Promise<FakeCampaign> {
  const server = createGrpcServer({
    serviceName: 'campaign-promo',
    logger: createLogger({ service: 'fake-campaign', level: 'silent' }),
    domainErrorStatus: { invalid_request: 3, not_found: 5 },
    host: '127.0.0.1',
  });
  const campaign: Omit<FakeCampaign, 'address' | 'close'> = {
    pointsFor: () => 0,
    delayMs: 0,
    down: false,
    grantCalls: [],
    clawbackCalls: [],
    grants: new Map(),
    clawbacks: new Map(),
  };
  const pause = () =>
    campaign.delayMs > 0
      ? new Promise((resolve) => setTimeout(resolve, campaign.delayMs))
      : Promise.resolve();
  const notImplemented = () => {
    throw new GrpcStatusError(12, 'not in the fake campaign-promo');
  };
  const grantMessage = (grant: Grant) => ({
    paymentId: grant.paymentId,
    status: grant.points > 0 ? ('GRANT_STATUS_GRANTED' as const) : ('GRANT_STATUS_NONE' as const),
    campaignId: grant.campaignId,
    points: String(grant.points),
    ledgerTransferId: grant.points > 0 ? `cashback_${grant.paymentId}` : '',
    clawedBackPoints: String(grant.clawedBack),
    grantedAt: toTimestamp(Date.now()),
  });

  server.addService(loadProtos().koban.campaign.v1.CampaignService.service, {
    CreateCampaign: notImplemented,
    GetCampaign: notImplemented,
    ListCampaigns: notImplemented,
    GetCashbackGrant: notImplemented,
    async GrantCashback(request) {
      campaign.grantCalls.push(request);
      await pause();
      if (campaign.down) throw new GrpcStatusError(UNAVAILABLE, 'campaign-promo down');
      const previous = campaign.grants.get(request.paymentId);
      if (previous !== undefined) return { grant: grantMessage(previous), replayed: true };
      const points = campaign.pointsFor(request);
      const grant = {
        paymentId: request.paymentId,
        campaignId: points > 0 ? 'cmp_test' : '',
        points,
        clawedBack: 0,
      };
      campaign.grants.set(request.paymentId, grant);
      return { grant: grantMessage(grant), replayed: false };
    },
    async ClawbackCashback(request) {
      campaign.clawbackCalls.push(request);
      await pause();
      if (campaign.down) throw new GrpcStatusError(UNAVAILABLE, 'campaign-promo down');
      const grant = campaign.grants.get(request.paymentId);
      const previous = campaign.clawbacks.get(request.refundId);
      const clawback = (points: number) => ({
        refundId: request.refundId,
        paymentId: request.paymentId,
        campaignId: grant?.campaignId ?? '',
        points: String(points),
        ledgerTransferId: points > 0 ? `clawback_${request.refundId}` : '',
        createdAt: toTimestamp(Date.now()),
      });
      if (previous !== undefined) return { clawback: clawback(previous), replayed: true };
      let points = 0;
      if (grant !== undefined) {
        const share = Math.floor(
          (grant.points * Number(request.totalRefundedAmount)) / Number(request.paymentAmount),
        );
        points = Math.max(0, share - grant.clawedBack);
        grant.clawedBack += points;
      }
      campaign.clawbacks.set(request.refundId, points);
      return { clawback: clawback(points), replayed: false };
    },
  });
  const port = await server.listen(0);
  return Object.assign(campaign, { address: `127.0.0.1:${port}`, close: () => server.shutdown(0) });
}
