import {
  DomainError,
  fromTimestamp,
  toTimestamp,
  type GrpcClient,
  type KobanProtos,
  type Logger,
} from '@koban/platform';
import { serviceUnavailable } from '../bank-errors.js';
import { lockoutRefusal, type CardCheckSubject, type FailedCardCheck, type Lock } from './lockout.js';

/** The fraud service's client, built in main.ts with the bank-integration→fraud policy. */
export type FraudClient = GrpcClient<KobanProtos['koban']['fraud']['v1']['FraudService']['service']>;

type LockMessage = { locked: boolean; lockedUntil: Parameters<typeof fromTimestamp>[0] } | null;

const toLock = (lock: LockMessage): Lock => ({
  locked: lock?.locked === true,
  lockedUntil: fromTimestamp(lock?.lockedUntil),
});

export interface LockoutGuard {
  /**
   * Asks fraud whether this card check may happen. Throws `account_locked` (user, then card) or
   * `rate_limited` (client IP) when it may not, and `service_unavailable` when fraud cannot
   * answer: card checks fail closed, the issuer is never reached without a clear answer.
   */
  assertMayTry(subject: CardCheckSubject): Promise<void>;
  /**
   * Records a failed check with fraud. Never throws: the caller answers the failure it has in
   * hand either way (a lock this check caused applies from the next one), and a recording that
   * fails is logged as an error.
   */
  recordFailure(subject: CardCheckSubject, result: FailedCardCheck): Promise<void>;
}

export interface LockoutGuardDeps {
  client: FraudClient;
  logger: Logger;
  now: () => Date;
}

export function createLockoutGuard(deps: LockoutGuardDeps): LockoutGuard {
  const logger = deps.logger.child({ component: 'lockout' });
  return {
    async assertMayTry(subject) {
      let response;
      try {
        response = await deps.client.getLockoutState({
          userId: subject.userId,
          cardFingerprint: subject.fingerprint,
          clientIp: subject.clientIp,
        });
      } catch (error) {
        // A business answer here (invalid_request) is a bug on one side or the other; it is
        // refused like an outage rather than let through unchecked.
        if (error instanceof DomainError) {
          logger.error(
            { err: error, userId: subject.userId },
            'fraud refused a lockout state request; refusing',
          );
        } else {
          logger.warn(
            { err: error, userId: subject.userId },
            'fraud could not give the lockout state; refusing',
          );
        }
        throw serviceUnavailable('the card-check lockout service', error);
      }
      const refusal = lockoutRefusal(
        {
          user: toLock(response.state?.user ?? null),
          card: toLock(response.state?.card ?? null),
          clientIp: toLock(response.state?.clientIp ?? null),
        },
        deps.now(),
      );
      if (refusal !== undefined) {
        logger.info(
          { userId: subject.userId, code: refusal.code, scope: refusal.details?.['scope'] },
          'card check refused by the lockout',
        );
        throw refusal;
      }
    },

    async recordFailure(subject, result) {
      try {
        await deps.client.recordCardCheck({
          userId: subject.userId,
          cardFingerprint: subject.fingerprint,
          clientIp: subject.clientIp,
          result: `CARD_CHECK_RESULT_${result}`,
          occurredAt: toTimestamp(deps.now()),
        });
      } catch (error) {
        logger.error({ err: error, userId: subject.userId, result }, 'could not record a failed card check');
      }
    },
  };
}
