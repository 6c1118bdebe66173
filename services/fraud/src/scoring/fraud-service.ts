import { randomUUID } from 'node:crypto';
import { DomainError, type Logger } from '@koban/platform';
import type { DecisionStore, StoredDecision } from './decision-store.js';
import {
  checkPaymentFields,
  decide,
  type FraudErrorCode,
  type FraudLimits,
  type PaymentToScore,
} from './fraud-rules.js';
import type { VelocityWindow } from './velocity-window.js';

/** A Score request as the transport hands it over (the amount still the int64's decimal string). */
export interface ScoreCommand {
  paymentId: string;
  userId: string;
  merchantId: string;
  amount: string;
  currency: string;
}

/** The scoring use case. */
export interface FraudService {
  /**
   * Decides on a payment and records the decision; a payment scored before answers its recorded
   * decision unchanged. Throws `invalid_request` for a request that cannot be scored.
   */
  score(command: ScoreCommand): Promise<StoredDecision>;
}

/** What {@link createFraudService} is built from, wired in main.ts. */
export interface FraudServiceDeps {
  store: DecisionStore;
  velocity: VelocityWindow;
  limits: FraudLimits;
  logger: Logger;
  /** Epoch ms; `Date.now` by default. */
  now?: () => number;
}

export function createFraudService(deps: FraudServiceDeps): FraudService {
  const { store, velocity, limits } = deps;
  const now = deps.now ?? Date.now;
  const logger = deps.logger.child({ component: 'fraud-service' });

  return {
    async score(command) {
      const problems = checkPaymentFields(command);
      if (Object.keys(problems).length > 0) {
        throw new DomainError<FraudErrorCode>(
          'invalid_request',
          `invalid ${Object.keys(problems).join(', ')}`,
          { fields: problems },
        );
      }
      const payment: PaymentToScore = { ...command, amount: BigInt(command.amount) };

      const recorded = await store.findByPaymentId(payment.paymentId);
      if (recorded) return recorded;

      const decidedAt = now();
      const reading = await velocity.record(payment.userId, payment.paymentId, decidedAt);
      const verdict = decide(payment.amount, reading, limits);
      const decision = await store.insertOnce({
        id: randomUUID(),
        ...payment,
        ...verdict,
        decidedAt: new Date(decidedAt),
      });
      if (decision.outcome !== 'approve') {
        logger.info(
          { paymentId: decision.paymentId, outcome: decision.outcome, reasons: decision.reasons },
          'payment flagged',
        );
      }
      return decision;
    },
  };
}
