import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createInMemoryMetrics, createLogger } from '@koban/platform';
import type { LockoutPolicy } from './lockout.js';
import type { LockoutCounters } from './lockout-counters.js';
import { lockoutMetrics } from './lockout-metrics.js';
import { createLockoutService } from './lockout-service.js';
import { subjectId, type FailureEntry, type LockoutStore } from './lockout-store.js';

/** The journal and the locks in memory: the durable path the service trusts. */
function memoryStore(): LockoutStore {
  const failures: FailureEntry[] = [];
  const locks = new Map<string, number>();
  return {
    insertFailures: (entries) => {
      failures.push(...entries);
      return Promise.resolve();
    },
    listFailures: (subject, sinceMs, limit) =>
      Promise.resolve(
        failures
          .filter((f) => subjectId(f.subject) === subjectId(subject) && f.atMs > sinceMs)
          .slice(-limit)
          .map(({ id, atMs }) => ({ id, atMs })),
      ),
    findActiveLocks: (subjects, nowMs) =>
      Promise.resolve(
        new Map(
          subjects
            .map((s): [string, number | undefined] => [subjectId(s), locks.get(subjectId(s))])
            .filter((entry): entry is [string, number] => entry[1] !== undefined && entry[1] > nowMs),
        ),
      ),
    lock: (subject, lockedUntilMs, _reason, nowMs) => {
      const current = locks.get(subjectId(subject));
      if (current !== undefined && current > nowMs) return Promise.resolve(current);
      locks.set(subjectId(subject), lockedUntilMs);
      return Promise.resolve(lockedUntilMs);
    },
  };
}

/** Redis down: every counter call answers nothing, so the journal counts. */
const redisDown: LockoutCounters = {
  addFailures: () => Promise.resolve(undefined),
  refill: () => Promise.resolve(false),
  read: () => Promise.resolve(undefined),
  cacheLock: () => Promise.resolve(),
};

const hour = 3_600_000;
const policy: LockoutPolicy = {
  enabled: true,
  user: { locksAt: 3, windowMs: hour, durationMs: hour },
  card: { locksAt: 3, windowMs: hour, durationMs: hour },
  ip: { locksAt: 4, windowMs: hour, durationMs: hour },
};

test('counts each new lock once, by subject type, and not the failures after it', async () => {
  const recorded = createInMemoryMetrics();
  let nowMs = Date.parse('2030-01-01T00:00:00Z');
  const service = createLockoutService({
    store: memoryStore(),
    counters: redisDown,
    policy,
    logger: createLogger({ service: 'fraud-test', level: 'silent' }),
    now: () => (nowMs += 1_000),
    metrics: lockoutMetrics(recorded.meter),
  });
  const lockouts = async (subjectType: string) =>
    (await recorded.value('koban.fraud.lockouts', { subject_type: subjectType })) ?? 0;

  const wrongCvc = { userId: 'usr_1', cardFingerprint: 'fp_1', clientIp: '', result: 'wrong_cvc' as const };
  await service.recordCardCheck(wrongCvc);
  await service.recordCardCheck(wrongCvc);
  assert.equal(await lockouts('user'), 0);
  const state = await service.recordCardCheck(wrongCvc);
  assert.equal(state.user.locked, true);
  assert.equal(await lockouts('user'), 1);
  assert.equal(await lockouts('card'), 1);
  // Locked already: another failure neither extends the lock nor counts a new one.
  await service.recordCardCheck(wrongCvc);
  assert.equal(await lockouts('user'), 1);
  assert.equal(await lockouts('card'), 1);

  // Card testing from one IP across many users: the IP throttle locks.
  for (let i = 0; i < 4; i += 1) {
    await service.recordCardCheck({
      userId: `usr_s${i}`,
      cardFingerprint: '',
      clientIp: '198.51.100.7',
      result: 'declined',
    });
  }
  assert.equal(await lockouts('ip'), 1);
  await recorded.shutdown();
});
