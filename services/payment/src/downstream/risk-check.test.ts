import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DomainError,
  GrpcCallError,
  createDependencyPolicy,
  createLogger,
  dependencyPresets,
  presetOptions,
} from '@koban/platform';
import { createRiskCheck, fallbackDecision, type FraudClient } from './risk-check.js';

const logger = createLogger({ service: 'payment-test', level: 'silent' });
const subject = {
  paymentId: 'pmt_1',
  userId: 'usr_1',
  merchantId: 'mch_1',
  amount: 1_000,
  currency: 'JPY',
  method: 'WALLET' as const,
  cardFingerprint: null,
  clientIp: '',
  occurredAt: new Date(0),
};

function fraudClient(score: FraudClient['score']): FraudClient {
  return {
    score,
    recordCardCheck: () => Promise.reject(new Error('unused')),
    getLockoutState: () => Promise.reject(new Error('unused')),
    close: () => undefined,
  };
}

void describe('fallbackDecision', () => {
  void it('allows up to the configured amount and declines above', () => {
    assert.deepEqual(fallbackDecision(50_000, 50_000), { allow: true, source: 'fallback' });
    assert.deepEqual(fallbackDecision(50_001, 50_000), { allow: false, source: 'fallback' });
  });
});

void describe('createRiskCheck', () => {
  const policy = createDependencyPolicy(
    presetOptions(dependencyPresets.paymentToFraud, 'payment-risk-test'),
    { logger },
  );

  void it("follows the fraud service's decision", async () => {
    const allow = createRiskCheck({
      client: fraudClient(() =>
        Promise.resolve({ decision: 'DECISION_ALLOW', score: 1, reasons: [], features: null }),
      ),
      policy,
      fallbackMaxAmount: 0,
      logger,
    });
    assert.deepEqual(await allow.assess(subject), { allow: true, source: 'fraud' });
    const decline = createRiskCheck({
      client: fraudClient(() =>
        Promise.resolve({
          decision: 'DECISION_DECLINE',
          score: 900,
          reasons: ['velocity_user'],
          features: null,
        }),
      ),
      policy,
      fallbackMaxAmount: 1_000_000,
      logger,
    });
    assert.deepEqual(await decline.assess(subject), { allow: false, source: 'fraud' });
  });

  void it('answers the local rule when fraud fails, refuses the request, or decides nothing', async () => {
    for (const score of [
      () => Promise.reject(new GrpcCallError(14, '/koban.fraud.v1.FraudService/Score', 'down')),
      () => Promise.reject(new DomainError('invalid_request', 'bad request')),
      () =>
        Promise.resolve({ decision: 'DECISION_UNSPECIFIED' as const, score: 0, reasons: [], features: null }),
    ]) {
      const check = createRiskCheck({ client: fraudClient(score), policy, fallbackMaxAmount: 1_000, logger });
      assert.deepEqual(await check.assess(subject), { allow: true, source: 'fallback' });
      assert.deepEqual(await check.assess({ ...subject, amount: 1_001 }), {
        allow: false,
        source: 'fallback',
      });
    }
  });

  void it('scores a card payment with its method, card fingerprint and client IP', async () => {
    let sent: Parameters<FraudClient['score']>[0] | undefined;
    const check = createRiskCheck({
      client: fraudClient((request) => {
        sent = request;
        return Promise.resolve({ decision: 'DECISION_ALLOW', score: 1, reasons: [], features: null });
      }),
      policy,
      fallbackMaxAmount: 0,
      logger,
    });
    await check.assess({ ...subject, method: 'CARD', cardFingerprint: 'fp_1', clientIp: '198.51.100.7' });
    assert.equal(sent?.method, 'PAYMENT_METHOD_CARD');
    assert.equal(sent.cardFingerprint, 'fp_1');
    assert.equal(sent.clientIp, '198.51.100.7');
  });
});
