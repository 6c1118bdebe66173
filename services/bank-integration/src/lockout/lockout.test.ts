import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lockoutRefusal, type Lock, type LockoutState } from './lockout.js';

const now = new Date('2030-01-01T00:00:00.000Z');
const open: Lock = { locked: false, lockedUntil: undefined };
const lockedFor = (ms: number): Lock => ({ locked: true, lockedUntil: new Date(now.getTime() + ms) });
const state = (overrides: Partial<LockoutState>): LockoutState => ({
  user: open,
  card: open,
  clientIp: open,
  ...overrides,
});

void describe('lockout refusals', () => {
  void it('let a card check through when nothing is locked', () => {
    assert.equal(lockoutRefusal(state({}), now), undefined);
  });

  void it('answer account_locked with scope user and the ISO end time for a locked user', () => {
    const refusal = lockoutRefusal(state({ user: lockedFor(30 * 60_000) }), now);
    assert.equal(refusal?.code, 'account_locked');
    assert.deepEqual(refusal.details, { lockedUntil: '2030-01-01T00:30:00.000Z', scope: 'user' });
  });

  void it('answer account_locked with scope card for a locked card', () => {
    const refusal = lockoutRefusal(state({ card: lockedFor(60_000) }), now);
    assert.equal(refusal?.code, 'account_locked');
    assert.equal(refusal.details?.['scope'], 'card');
  });

  void it('put the user lock before the card lock, and both before the IP throttle', () => {
    const all = state({ user: lockedFor(1_000), card: lockedFor(2_000), clientIp: lockedFor(3_000) });
    assert.equal(lockoutRefusal(all, now)?.details?.['scope'], 'user');
    const cardAndIp = state({ card: lockedFor(2_000), clientIp: lockedFor(3_000) });
    assert.equal(lockoutRefusal(cardAndIp, now)?.details?.['scope'], 'card');
  });

  void it('answer rate_limited with the seconds left, rounded up, for a throttled IP', () => {
    const refusal = lockoutRefusal(state({ clientIp: lockedFor(9_001) }), now);
    assert.equal(refusal?.code, 'rate_limited');
    assert.deepEqual(refusal.details, { retryAfterSeconds: 10 });
    assert.deepEqual(lockoutRefusal(state({ clientIp: lockedFor(0) }), now)?.details, {
      retryAfterSeconds: 1,
    });
  });
});
