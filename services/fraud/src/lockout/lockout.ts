// Card-check lockouts: who a card check counts against, when a subject locks, and the state
// answered. Pure: no I/O, no clock (times come in as epoch ms).

/** What a lockout counter is about: a user, a card (by fingerprint) or a client IP. */
export type SubjectType = 'user' | 'card' | 'ip';

/** One counted subject; `key` is the user id, the card fingerprint or the normalised IP. */
export interface Subject {
  type: SubjectType;
  key: string;
}

/** The outcome of a card check with the issuer, as bank-integration reports it. */
export type CardCheckResult = 'approved' | 'wrong_cvc' | 'declined' | 'expired' | 'invalid_number';

/** The subjects of one card operation; an empty string when the caller has none (no card yet, no IP). */
export interface CardCheckSubjects {
  userId: string;
  cardFingerprint: string;
  clientIp: string;
}

/** When failures of one kind of subject lock it. */
export interface LockRule {
  /** The failure within the window that locks: 5 for the CVC lockouts, 31 ("more than 30") per IP. */
  locksAt: number;
  /** How far back failures count (a sliding window). */
  windowMs: number;
  /** How long a lock lasts from the failure that set it. */
  durationMs: number;
}

/** The configured lockouts (API.md, "Default limits"). */
export interface LockoutPolicy {
  /** When false nothing locks and no lock is enforced; failures are still counted. */
  enabled: boolean;
  user: LockRule;
  card: LockRule;
  ip: LockRule;
}

/** One counter as answered (proto `Lock`). */
export interface LockView {
  locked: boolean;
  /** When the lock ends; null when not locked. */
  lockedUntil: Date | null;
  /** Failures counted in the current window. */
  failures: number;
  /** The failure count that locks. */
  threshold: number;
}

/** The three counters of a card operation (proto `LockoutState`). */
export interface LockoutState {
  user: LockView;
  card: LockView;
  clientIp: LockView;
}

/** The reason stored with a lock. */
export const lockReasons: Readonly<Record<SubjectType, string>> = {
  user: 'cvc_failures',
  card: 'cvc_failures',
  ip: 'card_check_failures',
};

/** The longest user id, card fingerprint and client IP accepted. */
export const maxKeyLength: Readonly<Record<keyof CardCheckSubjects, number>> = {
  userId: 64,
  cardFingerprint: 128,
  clientIp: 64,
};

/** The subjects that were given, in the order user, card, IP. */
export function subjectsOf(subjects: CardCheckSubjects): Subject[] {
  const given: Subject[] = [];
  if (subjects.userId !== '') given.push({ type: 'user', key: subjects.userId });
  if (subjects.cardFingerprint !== '') given.push({ type: 'card', key: subjects.cardFingerprint });
  if (subjects.clientIp !== '') given.push({ type: 'ip', key: subjects.clientIp });
  return given;
}

/**
 * The counters a card check feeds: only a wrong CVC counts toward the user and card lockouts;
 * every failure (wrong CVC, declined, expired, invalid number) counts toward the client IP
 * throttle; an approval counts toward nothing (and resets nothing: the windows slide).
 */
export function countedSubjects(result: CardCheckResult, subjects: CardCheckSubjects): Subject[] {
  if (result === 'approved') return [];
  return subjectsOf(subjects).filter((subject) => subject.type === 'ip' || result === 'wrong_cvc');
}

/** Whether a failure count reached on a recorded failure sets a lock now. */
export function shouldLock(
  policy: LockoutPolicy,
  type: SubjectType,
  failures: number,
  activeLockUntilMs: number | null,
  nowMs: number,
): boolean {
  if (!policy.enabled) return false;
  if (activeLockUntilMs !== null && activeLockUntilMs > nowMs) return false;
  return failures >= policy[type].locksAt;
}

/** The counter as answered: a lock holds while its end is in the future and lockouts are on. */
export function lockView(
  policy: LockoutPolicy,
  type: SubjectType,
  failures: number,
  lockedUntilMs: number | null,
  nowMs: number,
): LockView {
  const locked = policy.enabled && lockedUntilMs !== null && lockedUntilMs > nowMs;
  return {
    locked,
    lockedUntil: locked ? new Date(lockedUntilMs) : null,
    failures,
    threshold: policy[type].locksAt,
  };
}

/** The counter of a subject the caller did not name. */
export function absentView(policy: LockoutPolicy, type: SubjectType): LockView {
  return { locked: false, lockedUntil: null, failures: 0, threshold: policy[type].locksAt };
}

/**
 * One spelling per address: trimmed, lower case (IPv6 hex), and an IPv4-mapped IPv6 address
 * (`::ffff:203.0.113.7`, what a dual-stack socket reports) as plain IPv4.
 */
export function normalizeClientIp(ip: string): string {
  const trimmed = ip.trim().toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(trimmed);
  return mapped?.[1] ?? trimmed;
}

/**
 * A string that could be a card number (12 to 19 digits, maybe spaced or dashed). A fingerprint
 * must never be one: such a value is refused and never stored, counted or logged.
 */
export function looksLikeCardNumber(value: string): boolean {
  return /^[\d -]+$/.test(value) && /^\d{12,19}$/.test(value.replace(/[ -]/g, ''));
}

/** The field problems of a card-check subject set (empty when usable). The user is required. */
export function checkSubjectFields(subjects: CardCheckSubjects): Record<string, string> {
  const problems: Record<string, string> = {};
  if (subjects.userId === '') problems['userId'] = 'required';
  for (const field of ['userId', 'cardFingerprint', 'clientIp'] as const) {
    if (subjects[field].length > maxKeyLength[field]) {
      problems[field] = `longer than ${maxKeyLength[field]} characters`;
    }
  }
  if (looksLikeCardNumber(subjects.cardFingerprint)) {
    problems['cardFingerprint'] = 'must be a card fingerprint, never a card number';
  }
  return problems;
}
