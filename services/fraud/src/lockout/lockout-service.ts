import { randomUUID } from 'node:crypto';
import { serviceMeter, type Logger } from '@koban/platform';
import { assertNoProblems } from '../fraud-errors.js';
import {
  absentView,
  checkSubjectFields,
  countedSubjects,
  lockReasons,
  lockView,
  normalizeClientIp,
  shouldLock,
  subjectsOf,
  type CardCheckResult,
  type CardCheckSubjects,
  type LockoutPolicy,
  type LockoutState,
  type LockView,
  type Subject,
} from './lockout.js';
import type { LockoutCounters, WindowRef } from './lockout-counters.js';
import { lockoutMetrics, type LockoutMetrics } from './lockout-metrics.js';
import { subjectId, type FailureEntry, type LockoutStore } from './lockout-store.js';

/** A RecordCardCheck request as the transport hands it over. */
export interface RecordCardCheckCommand extends CardCheckSubjects {
  /** Undefined for a value this build does not know (or UNSPECIFIED): refused as invalid. */
  result: CardCheckResult | undefined;
}

/** The lockout use cases. */
export interface LockoutService {
  /**
   * Counts a card check's failure toward its counters, locks the subjects it takes to their
   * threshold, and answers the state after it. Throws `invalid_request` for unusable fields.
   */
  recordCardCheck(command: RecordCardCheckCommand): Promise<LockoutState>;
  /** The state before a card operation. Throws `invalid_request` for unusable fields. */
  getLockoutState(subjects: CardCheckSubjects): Promise<LockoutState>;
  /** The state of already validated subjects (scoring asks for the user and card). */
  stateOf(subjects: CardCheckSubjects, nowMs: number): Promise<LockoutState>;
}

export interface LockoutServiceDeps {
  store: LockoutStore;
  counters: LockoutCounters;
  policy: LockoutPolicy;
  logger: Logger;
  /** Epoch ms; `Date.now` by default. */
  now?: () => number;
  /** Where new locks are counted; on `serviceMeter('koban-fraud')` by default. */
  metrics?: LockoutMetrics;
}

/** A window never answers more than this many failures (the Redis windows keep as many). */
export const MAX_WINDOW_ENTRIES = 1000;

const stateKeys = { user: 'user', card: 'card', ip: 'clientIp' } as const;

/**
 * Counting. Redis holds the sliding windows and decides; every counted failure is also journaled
 * in `card_check_failures` first. The journal counts instead of Redis when Redis could have lost
 * failures: when it is down (the journal has every failure, before and during the outage, so
 * the count stays exact), when a window held nothing before this failure (a flush, an eviction
 * or a restart may have emptied it), and for one window length after this instance last saw
 * Redis fail (writes lost in an outage or a timeout). The larger count wins and what Redis
 * lacked is put back into its window.
 *
 * Locks are written to `lockouts` first, then cached in Redis. A cached lock answers at once; a
 * subject without one in Redis is looked up in the database (Redis may have been flushed), so a
 * Redis outage or flush never unlocks anyone. A lock found only in the database is cached again.
 */
export function createLockoutService(deps: LockoutServiceDeps): LockoutService {
  const { store, counters, policy } = deps;
  const now = deps.now ?? Date.now;
  const logger = deps.logger.child({ component: 'lockout-service' });
  const metrics = deps.metrics ?? lockoutMetrics(serviceMeter('koban-fraud'));
  const longestWindowMs = Math.max(policy.user.windowMs, policy.card.windowMs, policy.ip.windowMs);
  /** Until when counts are cross-checked with the journal after Redis failed here. */
  let crossCheckUntilMs = 0;

  const windowOf = (subject: Subject): WindowRef => ({ subject, windowMs: policy[subject.type].windowMs });
  const windowStart = (subject: Subject, nowMs: number): number => nowMs - policy[subject.type].windowMs;
  const noteRedisTrouble = (nowMs: number): void => {
    crossCheckUntilMs = nowMs + longestWindowMs;
  };

  const normalized = (subjects: CardCheckSubjects): CardCheckSubjects => ({
    userId: subjects.userId.trim(),
    cardFingerprint: subjects.cardFingerprint.trim(),
    clientIp: normalizeClientIp(subjects.clientIp),
  });

  /** The journal's failures in the subject's window. */
  const journalWindow = (subject: Subject, nowMs: number) =>
    store.listFailures(subject, windowStart(subject, nowMs), MAX_WINDOW_ENTRIES);

  /** Counts after adding `entries`, cross-checked with the journal where Redis may lack some. */
  async function countAfter(entries: readonly FailureEntry[], nowMs: number): Promise<number[]> {
    const refs = entries.map((entry) => ({ ...windowOf(entry.subject), id: entry.id, atMs: entry.atMs }));
    const inRedis = await counters.addFailures(refs, nowMs);
    if (inRedis === undefined) noteRedisTrouble(nowMs);
    return Promise.all(
      entries.map(async (entry, index) => {
        const redisCount = inRedis?.[index];
        if (redisCount !== undefined && redisCount > 1 && nowMs >= crossCheckUntilMs) return redisCount;
        const journal = await journalWindow(entry.subject, nowMs);
        if (redisCount !== undefined && journal.length > redisCount) {
          if (!(await counters.refill(windowOf(entry.subject), journal, nowMs))) noteRedisTrouble(nowMs);
        }
        return Math.max(redisCount ?? 0, journal.length);
      }),
    );
  }

  async function stateOf(subjects: CardCheckSubjects, nowMs: number): Promise<LockoutState> {
    const given = subjectsOf(subjects);
    const readings = await counters.read(given.map(windowOf), nowMs);
    if (readings === undefined) noteRedisTrouble(nowMs);

    const cachedLocks = new Map<string, number>();
    given.forEach((subject, index) => {
      const until = readings?.[index]?.lockedUntilMs;
      if (until != null && until > nowMs) cachedLocks.set(subjectId(subject), until);
    });
    const unknown = given.filter((subject) => !cachedLocks.has(subjectId(subject)));
    const storedLocks = await store.findActiveLocks(unknown, nowMs);
    if (readings !== undefined) {
      // Redis answered but had forgotten these locks: cache them again for the next reader.
      for (const subject of unknown) {
        const until = storedLocks.get(subjectId(subject));
        if (until !== undefined) await counters.cacheLock(subject, until, nowMs);
      }
    }

    const views = await Promise.all(
      given.map(async (subject, index): Promise<[Subject, LockView]> => {
        const failures = readings?.[index]?.failures ?? (await journalWindow(subject, nowMs)).length;
        const id = subjectId(subject);
        const until = cachedLocks.get(id) ?? storedLocks.get(id) ?? null;
        return [subject, lockView(policy, subject.type, failures, until, nowMs)];
      }),
    );
    const state: LockoutState = {
      user: absentView(policy, 'user'),
      card: absentView(policy, 'card'),
      clientIp: absentView(policy, 'ip'),
    };
    for (const [subject, view] of views) state[stateKeys[subject.type]] = view;
    return state;
  }

  return {
    stateOf,

    async getLockoutState(subjects) {
      const clean = normalized(subjects);
      assertNoProblems(checkSubjectFields(clean));
      return stateOf(clean, now());
    },

    async recordCardCheck(command) {
      const clean = normalized(command);
      const problems = checkSubjectFields(clean);
      if (command.result === undefined) problems['result'] = 'required';
      assertNoProblems(problems);
      const result = command.result as CardCheckResult;

      const nowMs = now();
      const entries: FailureEntry[] = countedSubjects(result, clean).map((subject) => ({
        id: randomUUID(),
        subject,
        result,
        atMs: nowMs,
      }));
      if (entries.length === 0) return stateOf(clean, nowMs);

      await store.insertFailures(entries, (subject) => windowStart(subject, nowMs));
      const counts = await countAfter(entries, nowMs);

      const reached = entries.filter((entry, index) =>
        shouldLock(policy, entry.subject.type, counts[index] ?? 0, null, nowMs),
      );
      for (const { subject } of reached) {
        const until = await store.lock(
          subject,
          nowMs + policy[subject.type].durationMs,
          lockReasons[subject.type],
          nowMs,
        );
        await counters.cacheLock(subject, until, nowMs);
        if (until === nowMs + policy[subject.type].durationMs) {
          metrics.locked(subject.type);
          // The key is an id, a fingerprint or an IP: never a card number (refused above).
          logger.warn(
            {
              subjectType: subject.type,
              subjectKey: subject.key,
              lockedUntil: new Date(until).toISOString(),
            },
            subject.type === 'ip' ? 'client IP throttled' : 'locked after wrong CVCs',
          );
        }
      }

      const state = await stateOf(clean, nowMs);
      // The counts just taken are the freshest (the journal cross-check included).
      entries.forEach((entry, index) => {
        const view = state[stateKeys[entry.subject.type]];
        view.failures = Math.max(view.failures, counts[index] ?? 0);
      });
      return state;
    },
  };
}
