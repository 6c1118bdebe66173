// The FraudService as served: its handlers from each feature, and the one exhaustive map from
// the fraud domain error codes to gRPC statuses.
import { GrpcStatus, type GrpcServerOptions, type KobanProtos, type ServiceHandlers } from '@koban/platform';
import type { FraudErrorCode } from './fraud-errors.js';
import { createLockoutHandlers } from './lockout/lockout-grpc.js';
import type { LockoutService } from './lockout/lockout-service.js';
import { createScoringHandlers } from './scoring/scoring-grpc.js';
import type { FraudService } from './scoring/fraud-service.js';

export type FraudServiceDefinition = KobanProtos['koban']['fraud']['v1']['FraudService']['service'];

/** One promise-returning handler per FraudService RPC. */
export type FraudHandlers = ServiceHandlers<FraudServiceDefinition>;

/** The gRPC status of each fraud domain error (proto/README.md, "Domain errors"). */
export const fraudErrorStatus: GrpcServerOptions<FraudErrorCode>['domainErrorStatus'] = {
  invalid_request: GrpcStatus.INVALID_ARGUMENT,
};

export function createFraudHandlers(features: {
  scoring: FraudService;
  lockout: LockoutService;
}): FraudHandlers {
  return { ...createScoringHandlers(features.scoring), ...createLockoutHandlers(features.lockout) };
}
