import {
  DomainError,
  toTimestamp,
  type DependencyPolicy,
  type GrpcClient,
  type KobanProtos,
  type Logger,
} from '@koban/platform';

/** The fraud service's gRPC client; built WITHOUT a policy: the risk check wraps it in one. */
export type FraudClient = GrpcClient<KobanProtos['koban']['fraud']['v1']['FraudService']['service']>;

/** A payment about to be made, as the fraud service scores it. */
export interface RiskSubject {
  paymentId: string;
  userId: string;
  merchantId: string;
  amount: number;
  currency: string;
  method: 'WALLET' | 'CARD';
  /** The card's fingerprint (from bank-integration) for card payments; fraud counts card lockouts by it. */
  cardFingerprint: string | null;
  clientIp: string;
  occurredAt: Date;
}

export interface RiskDecision {
  allow: boolean;
  /** `fraud` when the fraud service decided; `fallback` for the local rules-only decision. */
  source: 'fraud' | 'fallback';
}

/**
 * The rules-only decision used when the fraud service is slow, failing or behind an open
 * breaker (ARCHITECTURE.md, "Resilience"): allow up to `maxAmount` yen, decline above.
 */
export function fallbackDecision(amount: number, maxAmount: number): RiskDecision {
  return { allow: amount <= maxAmount, source: 'fallback' };
}

export interface RiskCheck {
  assess(subject: RiskSubject): Promise<RiskDecision>;
}

export interface RiskCheckDeps {
  client: FraudClient;
  /** The payment→fraud policy (300 ms, breaker); its `withFallback` answers the local rule. */
  policy: DependencyPolicy;
  /** `FRAUD_FALLBACK_MAX_AMOUNT`. */
  fallbackMaxAmount: number;
  logger: Logger;
}

/**
 * fraud.Score behind its policy. Scoring is recorded per payment id by the fraud service, so
 * asking again for the same payment (a recovery) answers the recorded decision.
 */
export function createRiskCheck(deps: RiskCheckDeps): RiskCheck {
  const logger = deps.logger.child({ component: 'risk-check' });
  return {
    async assess(subject) {
      const fallback = (): RiskDecision => fallbackDecision(subject.amount, deps.fallbackMaxAmount);
      try {
        return await deps.policy.withFallback(
          async ({ signal }) => {
            const response = await deps.client.score(
              {
                paymentId: subject.paymentId,
                userId: subject.userId,
                merchantId: subject.merchantId,
                amount: String(subject.amount),
                currency: subject.currency,
                method: subject.method === 'CARD' ? 'PAYMENT_METHOD_CARD' : 'PAYMENT_METHOD_WALLET',
                cardFingerprint: subject.cardFingerprint ?? '',
                clientIp: subject.clientIp,
                occurredAt: toTimestamp(subject.occurredAt),
              },
              { signal },
            );
            if (response.decision === 'DECISION_ALLOW') return { allow: true, source: 'fraud' } as const;
            if (response.decision === 'DECISION_DECLINE') return { allow: false, source: 'fraud' } as const;
            logger.warn(
              { decision: response.decision, paymentId: subject.paymentId },
              'fraud answered no decision; using the local rule',
            );
            return fallback();
          },
          () => fallback(),
          { idempotent: true },
        );
      } catch (error) {
        // A business answer from fraud (invalid_request) is a bug on one side or the other; the
        // payment must not fail for it, so the local rule decides and the error is logged once.
        if (!(error instanceof DomainError)) throw error;
        logger.error(
          { err: error, paymentId: subject.paymentId },
          'fraud refused the scoring request; using the local rule',
        );
        return fallback();
      }
    },
  };
}
