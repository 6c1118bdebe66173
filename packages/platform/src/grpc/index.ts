/** gRPC status codes, re-exported so services need no direct dependency on @grpc/grpc-js. */
export { status as GrpcStatus } from '@grpc/grpc-js';
export { DomainError } from './domain-error.js';
export {
  ERROR_CODE_METADATA_KEY,
  ERROR_DETAILS_METADATA_KEY,
  GrpcCallError,
  GrpcStatusError,
  domainErrorMetadata,
  fromServiceError,
  statusName,
} from './grpc-errors.js';
export { currentRequestContext, remainingBudgetMs, runWithRequestContext } from './request-context.js';
export type { RequestContext } from './request-context.js';
export {
  listProtoFiles,
  loadPackageDefinition,
  loadProtos,
  protoConversionOptions,
  protoRoot,
} from './load-protos.js';
export type { KobanProtos } from './load-protos.js';
export { createInMemoryFaultInjector, faultFromProto, matchFault } from './fault-injection.js';
export type { ConfiguredFault, FaultInjector, FaultSpec, InMemoryFaultInjector } from './fault-injection.js';
export { MAX_MESSAGE_BYTES, defaultChannelOptions, defaultServerOptions } from './channel-options.js';
export { createGrpcServer } from './server.js';
export { guardDatabaseUnavailable } from './database-unavailable-guard.js';
export type { HandlerGuard } from './database-unavailable-guard.js';
export type {
  BreakerReport,
  GrpcServer,
  GrpcServerOptions,
  ServiceHandlers,
  ServingStatus,
} from './server.js';
export type { UnaryHandler } from './unary-handler.js';
export { createGrpcClient } from './client.js';
export type {
  CallOutcome,
  CallPolicy,
  GrpcClient,
  GrpcClientOptions,
  ServiceClientConstructor,
  UnaryCallOptions,
} from './client.js';
export { fromTimestamp, timestampToMillis, toTimestamp } from './timestamp.js';
