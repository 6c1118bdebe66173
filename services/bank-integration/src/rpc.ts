import type { KobanProtos, ServiceHandlers } from '@koban/platform';

/** The BankIntegrationService definition and its handler, request and response types, from the protos. */
export type BankIntegrationDefinition =
  KobanProtos['koban']['bankintegration']['v1']['BankIntegrationService']['service'];
export type BankIntegrationHandlers = ServiceHandlers<BankIntegrationDefinition>;
export type RpcName = keyof BankIntegrationHandlers;
export type RpcRequest<Name extends RpcName> = Parameters<BankIntegrationHandlers[Name]>[0];
export type RpcResponse<Name extends RpcName> = Awaited<ReturnType<BankIntegrationHandlers[Name]>>;
