// Score as served: proto ↔ domain.
import type { FraudHandlers } from '../fraud-grpc.js';
import type { StoredDecision } from './decision-store.js';
import type { FraudOutcome, PaymentMethod } from './fraud-rules.js';
import type { FraudService } from './fraud-service.js';

type ScoreResponse = Awaited<ReturnType<FraudHandlers['Score']>>;
type ProtoMethod = Parameters<FraudHandlers['Score']>[0]['method'];

/** A review is an approval: the proto knows allow and decline; the reasons say why it is flagged. */
const decisionOf: Readonly<Record<FraudOutcome, NonNullable<ScoreResponse['decision']>>> = {
  approve: 'DECISION_ALLOW',
  review: 'DECISION_ALLOW',
  decline: 'DECISION_DECLINE',
};

/** An unspecified method is a wallet payment (what every caller sent before cards). */
const methodOf: Readonly<Record<ProtoMethod, PaymentMethod>> = {
  PAYMENT_METHOD_UNSPECIFIED: 'wallet',
  PAYMENT_METHOD_WALLET: 'wallet',
  PAYMENT_METHOD_CARD: 'card',
};

/** The answer to Score for a recorded decision; a feature that was unknown answers zero. */
export function toScoreResponse(decision: StoredDecision): ScoreResponse {
  const features = decision.features;
  return {
    decision: decisionOf[decision.outcome],
    score: decision.score,
    reasons: [...decision.reasons],
    features: {
      userPaymentsLastMinute: String(decision.userPaymentsLastMinute ?? 0),
      userAmountLastDay: (features?.userAmountLastDay ?? 0n).toString(),
      userMerchantsLastDay: String(features?.userMerchantsLastDay ?? 0),
      merchantPaymentsLastMinute: String(features?.merchantPaymentsLastMinute ?? 0),
      firstPaymentToMerchant: features?.firstPaymentToMerchant ?? false,
      userCvcFailuresLastHour: String(features?.userCvcFailuresLastHour ?? 0),
    },
  };
}

export function createScoringHandlers(service: FraudService): Pick<FraudHandlers, 'Score'> {
  return {
    async Score(request) {
      const decision = await service.score({
        paymentId: request.paymentId,
        userId: request.userId,
        merchantId: request.merchantId,
        amount: request.amount,
        currency: request.currency,
        method: methodOf[request.method],
        cardFingerprint: request.cardFingerprint,
        clientIp: request.clientIp,
      });
      return toScoreResponse(decision);
    },
  };
}
