import { BankError } from '../bank-errors.js';

/**
 * The card-check lockout as bank-integration applies it (API.md, "Lockout (the 2018 lesson)"):
 * fraud counts and decides, this service asks before every card check and refuses without
 * reaching the issuer.
 */

/** One lock as fraud reports it. */
export interface Lock {
  locked: boolean;
  /** When it ends; undefined when not locked (or fraud did not say). */
  lockedUntil: Date | undefined;
}

export interface LockoutState {
  user: Lock;
  card: Lock;
  clientIp: Lock;
}

/** A failed card check as fraud records it; only `WRONG_CVC` counts toward the user and card locks. */
export type FailedCardCheck = 'WRONG_CVC' | 'DECLINED' | 'EXPIRED' | 'INVALID_NUMBER';

/** Who is trying a card: fraud keys its counters on each. */
export interface CardCheckSubject {
  userId: string;
  /** The card's fingerprint; empty when the number is not a card number at all. */
  fingerprint: string;
  /** The client's IP as the gateway saw it; may be empty for internal callers. */
  clientIp: string;
}

/** Used when a throttle comes without an end time: long enough not to invite a hammering retry. */
const DEFAULT_RETRY_AFTER_SECONDS = 60;

function lockedError(scope: 'user' | 'card', lock: Lock): BankError {
  const message =
    scope === 'user'
      ? 'card operations are locked for this account after too many failed card checks'
      : 'this card is locked after too many failed card checks';
  return new BankError('account_locked', message, {
    ...(lock.lockedUntil === undefined ? {} : { lockedUntil: lock.lockedUntil.toISOString() }),
    scope,
  });
}

/**
 * The refusal a lockout state calls for, in API.md's order: the user lock, then the card lock,
 * then the client IP throttle. Undefined when the card may be tried.
 */
export function lockoutRefusal(state: LockoutState, now: Date): BankError | undefined {
  if (state.user.locked) return lockedError('user', state.user);
  if (state.card.locked) return lockedError('card', state.card);
  if (state.clientIp.locked) {
    const until = state.clientIp.lockedUntil;
    const retryAfterSeconds =
      until === undefined
        ? DEFAULT_RETRY_AFTER_SECONDS
        : Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
    return new BankError('rate_limited', 'too many failed card checks from this address; retry later', {
      retryAfterSeconds,
    });
  }
  return undefined;
}
