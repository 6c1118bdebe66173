// The CampaignService types, named from the platform's typed protos: handlers, and the messages
// they take and answer.
import type { KobanProtos, ServiceHandlers } from '@koban/platform';

export type CampaignServiceDefinition = KobanProtos['koban']['campaign']['v1']['CampaignService']['service'];
export type CampaignHandlers = ServiceHandlers<CampaignServiceDefinition>;
export type RpcName = keyof CampaignHandlers;
/** The decoded request of an RPC (every field present, int64 as decimal strings). */
export type RpcRequest<Name extends RpcName> = Parameters<CampaignHandlers[Name]>[0];
export type RpcResponse<Name extends RpcName> = Awaited<ReturnType<CampaignHandlers[Name]>>;

export type CampaignMessage = NonNullable<RpcResponse<'GetCampaign'>['campaign']>;
export type GrantMessage = NonNullable<RpcResponse<'GetCashbackGrant'>['grant']>;
export type ClawbackMessage = NonNullable<RpcResponse<'ClawbackCashback'>['clawback']>;
