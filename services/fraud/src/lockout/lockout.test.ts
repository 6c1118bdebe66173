import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkSubjectFields,
  countedSubjects,
  lockView,
  looksLikeCardNumber,
  normalizeClientIp,
  shouldLock,
  type LockoutPolicy,
} from './lockout.js';

const minute = 60_000;
const policy: LockoutPolicy = {
  enabled: true,
  user: { locksAt: 5, windowMs: 60 * minute, durationMs: 30 * minute },
  card: { locksAt: 5, windowMs: 60 * minute, durationMs: 30 * minute },
  ip: { locksAt: 31, windowMs: 10 * minute, durationMs: 10 * minute },
};
const all = { userId: 'u-1', cardFingerprint: 'fp-1', clientIp: '203.0.113.7' };

void describe('countedSubjects', () => {
  void it('counts a wrong CVC against the user, the card and the IP', () => {
    assert.deepEqual(countedSubjects('wrong_cvc', all), [
      { type: 'user', key: 'u-1' },
      { type: 'card', key: 'fp-1' },
      { type: 'ip', key: '203.0.113.7' },
    ]);
  });

  void it('counts any other failure against the IP only, and an approval against nothing', () => {
    for (const result of ['declined', 'expired', 'invalid_number'] as const) {
      assert.deepEqual(countedSubjects(result, all), [{ type: 'ip', key: '203.0.113.7' }], result);
    }
    assert.deepEqual(countedSubjects('approved', all), []);
  });

  void it('leaves out the subjects the caller did not name', () => {
    assert.deepEqual(countedSubjects('wrong_cvc', { userId: 'u-1', cardFingerprint: '', clientIp: '' }), [
      { type: 'user', key: 'u-1' },
    ]);
  });
});

void describe('shouldLock', () => {
  void it('locks a user at the fifth failure and an IP at the thirty-first', () => {
    assert.equal(shouldLock(policy, 'user', 4, null, 0), false);
    assert.equal(shouldLock(policy, 'user', 5, null, 0), true);
    assert.equal(shouldLock(policy, 'ip', 30, null, 0), false);
    assert.equal(shouldLock(policy, 'ip', 31, null, 0), true);
  });

  void it('never replaces a lock in force, and locks again once it ended', () => {
    assert.equal(shouldLock(policy, 'card', 9, 1_000, 999), false);
    assert.equal(shouldLock(policy, 'card', 9, 1_000, 1_000), true);
  });

  void it('never locks with lockouts disabled', () => {
    assert.equal(shouldLock({ ...policy, enabled: false }, 'user', 1_000, null, 0), false);
  });
});

void describe('lockView', () => {
  void it('is locked until the end, exclusive, with the threshold', () => {
    assert.deepEqual(lockView(policy, 'user', 5, 2_000, 1_999), {
      locked: true,
      lockedUntil: new Date(2_000),
      failures: 5,
      threshold: 5,
    });
    assert.deepEqual(lockView(policy, 'ip', 31, 2_000, 2_000), {
      locked: false,
      lockedUntil: null,
      failures: 31,
      threshold: 31,
    });
  });

  void it('enforces no lock with lockouts disabled', () => {
    assert.equal(lockView({ ...policy, enabled: false }, 'user', 5, 2_000, 0).locked, false);
  });
});

void describe('normalizeClientIp', () => {
  void it('spells one address one way', () => {
    assert.equal(normalizeClientIp(' 203.0.113.7 '), '203.0.113.7');
    assert.equal(normalizeClientIp('::FFFF:203.0.113.7'), '203.0.113.7');
    assert.equal(normalizeClientIp('2001:DB8::1'), '2001:db8::1');
    assert.equal(normalizeClientIp(''), '');
  });
});

void describe('checkSubjectFields', () => {
  void it('requires the user and bounds every key', () => {
    assert.deepEqual(checkSubjectFields(all), {});
    assert.deepEqual(
      checkSubjectFields({ userId: '', cardFingerprint: 'f'.repeat(129), clientIp: 'i'.repeat(65) }),
      {
        userId: 'required',
        cardFingerprint: 'longer than 128 characters',
        clientIp: 'longer than 64 characters',
      },
    );
  });

  void it('refuses a card number as a fingerprint', () => {
    assert.equal(looksLikeCardNumber('4111111111111111'), true);
    assert.equal(looksLikeCardNumber('4111 1111 1111 1111'), true);
    assert.equal(looksLikeCardNumber('fp_4111111111111111'), false);
    assert.equal(looksLikeCardNumber('12345'), false);
    assert.equal(
      checkSubjectFields({ ...all, cardFingerprint: '5555555555554444' })['cardFingerprint'],
      'must be a card fingerprint, never a card number',
    );
  });
});
