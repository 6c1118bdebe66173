import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultRetrySettings } from './dependency-policy.js';
import { dependencyPresets, presetOptions } from './dependency-presets.js';

describe('dependencyPresets', () => {
  it('carries the timeouts of the resilience matrix', () => {
    const timeouts = Object.fromEntries(
      Object.entries(dependencyPresets).map(([name, preset]) => [name, [preset.callee, preset.timeoutMs]]),
    );
    assert.deepEqual(timeouts, {
      gatewayToPayment: ['payment', 4_500],
      gatewayToLedger: ['ledger', 300],
      gatewayToLedgerAccounts: ['ledger-accounts', 1_000],
      paymentToFraud: ['fraud', 300],
      paymentToLedger: ['ledger', 1_000],
      paymentToBankIntegration: ['bank-integration', 3_000],
      paymentToCampaignPromo: ['campaign-promo', 2_000],
      gatewayToBankIntegration: ['bank-integration', 3_000],
      gatewayToCampaignPromo: ['campaign-promo', 2_000],
      bankIntegrationToFraud: ['fraud', 300],
      bankIntegrationToBank: ['bank', 2_000],
      bankIntegrationToIssuer: ['issuer', 2_000],
      campaignPromoToLedger: ['ledger', 1_000],
      redis: ['redis', 100],
      kafka: ['kafka', 10_000],
      tidb: ['tidb', 15_000],
    });
  });
});

describe('presetOptions', () => {
  it('adds the caller and keeps the preset when nothing is overridden', () => {
    assert.deepEqual(presetOptions(dependencyPresets.paymentToLedger, 'payment'), {
      caller: 'payment',
      callee: 'ledger',
      timeoutMs: 1_000,
      retry: { maxAttempts: 2, initialDelayMs: 50, maxDelayMs: 200 },
    });
  });

  it('applies config overrides field by field and ignores undefined ones', () => {
    const options = presetOptions(dependencyPresets.paymentToBankIntegration, 'payment', {
      timeoutMs: 2_500,
      retry: { maxAttempts: 3, maxDelayMs: undefined },
      breaker: { halfOpenAfterMs: 10_000, windowMs: undefined },
      bulkhead: undefined,
    });
    assert.deepEqual(options, {
      caller: 'payment',
      callee: 'bank-integration',
      timeoutMs: 2_500,
      retry: { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 500 },
      breaker: { halfOpenAfterMs: 10_000 },
      bulkhead: { limit: 32, queue: 64 },
    });
  });

  it('turns retries and the bulkhead off or on', () => {
    const off = presetOptions(dependencyPresets.paymentToCampaignPromo, 'payment', { bulkhead: false });
    assert.equal(off.bulkhead, undefined);
    assert.equal(off.retry, false);
    const on = presetOptions(dependencyPresets.gatewayToLedger, 'gateway', { retry: { maxAttempts: 2 } });
    assert.deepEqual(on.retry, { ...defaultRetrySettings, maxAttempts: 2 });
    assert.equal(presetOptions(dependencyPresets.paymentToLedger, 'payment', { retry: false }).retry, false);
  });

  it('does not share objects with the preset', () => {
    const options = presetOptions(dependencyPresets.paymentToBankIntegration, 'payment');
    assert.notEqual(options.retry, dependencyPresets.paymentToBankIntegration.retry);
    assert.notEqual(options.bulkhead, dependencyPresets.paymentToBankIntegration.bulkhead);
  });
});
