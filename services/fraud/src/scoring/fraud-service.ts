import { randomUUID } from 'node:crypto';
import type { Logger } from '@koban/platform';
import { assertNoProblems } from '../fraud-errors.js';
import { normalizeClientIp } from '../lockout/lockout.js';
import type { LockoutService } from '../lockout/lockout-service.js';
import type { ProfileStore } from '../profile/profile-store.js';
import type { SpendWindow } from '../profile/spend-window.js';
import type { DecisionStore, StoredDecision } from './decision-store.js';
import {
  checkPaymentFields,
  decide,
  type FraudLimits,
  type PaymentMethod,
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
  method: PaymentMethod;
  cardFingerprint: string;
  clientIp: string;
}

/** The scoring use case. */
export interface FraudService {
  /**
   * Decides on a payment and records the decision; a payment scored before answers its recorded
   * decision unchanged. Throws `invalid_request` for a request that cannot be scored.
   */
  score(command: ScoreCommand): Promise<StoredDecision>;
}

/** What {@link createFraudService} is built from, wired in fraud-server.ts. */
export interface FraudServiceDeps {
  store: DecisionStore;
  velocity: VelocityWindow;
  spend: SpendWindow;
  profiles: ProfileStore;
  lockout: Pick<LockoutService, 'stateOf'>;
  limits: FraudLimits;
  logger: Logger;
  /** Epoch ms; `Date.now` by default. */
  now?: () => number;
}

export function createFraudService(deps: FraudServiceDeps): FraudService {
  const { store, velocity, spend, profiles, lockout, limits } = deps;
  const now = deps.now ?? Date.now;
  const logger = deps.logger.child({ component: 'fraud-service' });

  return {
    async score(command) {
      const clean = {
        ...command,
        cardFingerprint: command.cardFingerprint.trim(),
        clientIp: normalizeClientIp(command.clientIp),
      };
      assertNoProblems(checkPaymentFields(clean));
      // A card is only a card payment's: a wallet payment's stray fingerprint counts for nothing.
      const payment: PaymentToScore = {
        ...clean,
        cardFingerprint: clean.method === 'card' ? clean.cardFingerprint : '',
        amount: BigInt(clean.amount),
      };

      const recorded = await store.findByPaymentId(payment.paymentId);
      if (recorded) return recorded;

      const decidedAt = now();
      // Redis (one MULTI, one read) and the database (profile, locks) at once: the answer is
      // due within payment's 300 ms budget.
      const [counts, spent, history, locks] = await Promise.all([
        velocity.record(payment, decidedAt),
        spend.read(payment.userId, decidedAt),
        profiles.readForScoring(payment.userId, payment.merchantId, payment.cardFingerprint),
        lockout.stateOf(
          { userId: payment.userId, cardFingerprint: payment.cardFingerprint, clientIp: '' },
          decidedAt,
        ),
      ]);
      const verdict = decide(
        payment,
        {
          velocity: counts,
          spend: spent,
          profile: history.profile,
          knownMerchant: history.knownMerchant,
          knownCard: history.knownCard,
          userLocked: locks.user.locked,
          cardLocked: locks.card.locked,
          userCvcFailures: locks.user.failures,
        },
        limits,
      );
      const decision = await store.insertOnce({
        id: randomUUID(),
        ...payment,
        outcome: verdict.outcome,
        score: verdict.score,
        reasons: verdict.reasons,
        userPaymentsLastMinute: verdict.features.userPaymentsLastMinute,
        features: verdict.features,
        decidedAt: new Date(decidedAt),
      });
      if (decision.outcome !== 'approve') {
        logger.info(
          {
            paymentId: decision.paymentId,
            outcome: decision.outcome,
            score: decision.score,
            reasons: decision.reasons,
          },
          'payment flagged',
        );
      }
      return decision;
    },
  };
}
