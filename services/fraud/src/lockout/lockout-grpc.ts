// RecordCardCheck and GetLockoutState as served: proto ↔ domain.
import { toTimestamp } from '@koban/platform';
import type { FraudHandlers } from '../fraud-grpc.js';
import type { CardCheckResult, LockoutState, LockView } from './lockout.js';
import type { LockoutService } from './lockout-service.js';

type LockoutHandlers = Pick<FraudHandlers, 'RecordCardCheck' | 'GetLockoutState'>;
type ProtoResult = Parameters<FraudHandlers['RecordCardCheck']>[0]['result'];
type ProtoState = NonNullable<Awaited<ReturnType<FraudHandlers['GetLockoutState']>>['state']>;

/** The domain result of each proto value; UNSPECIFIED has none (the request is refused). */
const resultOf: Readonly<Record<ProtoResult, CardCheckResult | undefined>> = {
  CARD_CHECK_RESULT_UNSPECIFIED: undefined,
  CARD_CHECK_RESULT_APPROVED: 'approved',
  CARD_CHECK_RESULT_WRONG_CVC: 'wrong_cvc',
  CARD_CHECK_RESULT_DECLINED: 'declined',
  CARD_CHECK_RESULT_EXPIRED: 'expired',
  CARD_CHECK_RESULT_INVALID_NUMBER: 'invalid_number',
};

function toLock(view: LockView) {
  return {
    locked: view.locked,
    lockedUntil: view.lockedUntil === null ? null : toTimestamp(view.lockedUntil),
    failures: view.failures,
    threshold: view.threshold,
  };
}

export function toProtoState(state: LockoutState): ProtoState {
  return { user: toLock(state.user), card: toLock(state.card), clientIp: toLock(state.clientIp) };
}

export function createLockoutHandlers(service: LockoutService): LockoutHandlers {
  return {
    async RecordCardCheck(request) {
      const state = await service.recordCardCheck({
        userId: request.userId,
        cardFingerprint: request.cardFingerprint,
        clientIp: request.clientIp,
        result: resultOf[request.result],
      });
      return { state: toProtoState(state) };
    },
    async GetLockoutState(request) {
      const state = await service.getLockoutState({
        userId: request.userId,
        cardFingerprint: request.cardFingerprint,
        clientIp: request.clientIp,
      });
      return { state: toProtoState(state) };
    },
  };
}
