// The FraudService as served: proto ↔ domain, and the one exhaustive map from the fraud domain
// error codes to gRPC statuses.
import {
  GrpcStatus,
  GrpcStatusError,
  type GrpcServerOptions,
  type KobanProtos,
  type ServiceHandlers,
} from '@koban/platform';
import type { StoredDecision } from './decision-store.js';
import type { FraudErrorCode, FraudOutcome } from './fraud-rules.js';
import type { FraudService } from './fraud-service.js';

export type FraudServiceDefinition = KobanProtos['koban']['fraud']['v1']['FraudService']['service'];

/** One promise-returning handler per FraudService RPC. */
export type FraudHandlers = ServiceHandlers<FraudServiceDefinition>;

type ScoreResponse = Awaited<ReturnType<FraudHandlers['Score']>>;

const { INVALID_ARGUMENT, UNIMPLEMENTED } = GrpcStatus;

/** The gRPC status of each fraud domain error (proto/README.md, "Domain errors"). */
export const fraudErrorStatus: GrpcServerOptions<FraudErrorCode>['domainErrorStatus'] = {
  invalid_request: INVALID_ARGUMENT,
};

/** A review is an approval: the proto knows allow and decline; the reason says "review". */
const decisionOf: Readonly<Record<FraudOutcome, NonNullable<ScoreResponse['decision']>>> = {
  approve: 'DECISION_ALLOW',
  review: 'DECISION_ALLOW',
  decline: 'DECISION_DECLINE',
};

/** The answer to Score for a recorded decision; features not measured yet stay at zero. */
export function toScoreResponse(decision: StoredDecision): ScoreResponse {
  return {
    decision: decisionOf[decision.outcome],
    score: decision.score,
    reasons: [...decision.reasons],
    features: { userPaymentsLastMinute: String(decision.userPaymentsLastMinute ?? 0) },
  };
}

const arrivesWithCardLockout = (): never => {
  throw new GrpcStatusError(UNIMPLEMENTED, 'arrives with card lockout');
};

export function createFraudHandlers(service: FraudService): FraudHandlers {
  return {
    async Score(request) {
      const decision = await service.score({
        paymentId: request.paymentId,
        userId: request.userId,
        merchantId: request.merchantId,
        amount: request.amount,
        currency: request.currency,
      });
      return toScoreResponse(decision);
    },
    RecordCardCheck: arrivesWithCardLockout,
    GetLockoutState: arrivesWithCardLockout,
  };
}
