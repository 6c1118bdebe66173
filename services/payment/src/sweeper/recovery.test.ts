import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { recoveryStep, sweepBackoffMs, type RecoveryFacts } from './recovery.js';

const facts = (overrides: Partial<RecoveryFacts>): RecoveryFacts => ({
  transferApplied: false,
  ageMs: 1_000,
  sinceLastTransferMs: 1_000,
  retryDeadlineMs: 120_000,
  failQuietMs: 30_000,
  ...overrides,
});

void describe('recoveryStep', () => {
  void it('completes a resource whose transfer the ledger applied, even after the deadline', () => {
    assert.equal(recoveryStep(facts({ transferApplied: true })), 'complete');
    assert.equal(recoveryStep(facts({ transferApplied: true, ageMs: 10 * 60_000 })), 'complete');
  });

  void it('sends the same transfer again before the deadline', () => {
    assert.equal(recoveryStep(facts({ ageMs: 119_999 })), 'retry_transfer');
  });

  void it('abandons it after the deadline once no attempt can still be in flight', () => {
    assert.equal(recoveryStep(facts({ ageMs: 120_000, sinceLastTransferMs: 30_000 })), 'fail');
  });

  void it('waits after the deadline while an attempt was sent too recently', () => {
    assert.equal(recoveryStep(facts({ ageMs: 120_000, sinceLastTransferMs: 29_999 })), 'wait');
  });
});

void describe('sweepBackoffMs', () => {
  void it('doubles from the base and caps at a minute', () => {
    assert.equal(sweepBackoffMs(0, 5_000), 5_000);
    assert.equal(sweepBackoffMs(2, 5_000), 20_000);
    assert.equal(sweepBackoffMs(50, 5_000), 60_000);
  });
});
