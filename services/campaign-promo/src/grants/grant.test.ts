import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError } from '@koban/platform';
import type { CampaignCandidate } from '../campaigns/campaign-store.js';
import { cashbackPoints, checkGrantRequest, rankCandidates } from './grant.js';

const candidate = (overrides: Partial<CampaignCandidate>): CampaignCandidate => ({
  campaignId: 'cmp_a',
  cashbackBps: 1_000,
  maxPointsPerPayment: 100,
  ledgerAccountId: 'acc_a',
  budgetPoints: 1_000_000,
  grantedPoints: 0,
  createdAt: new Date(0),
  ...overrides,
});

void describe('cashback points', () => {
  void it('are floor(amount × bps / 10000), at most the cap', () => {
    assert.equal(cashbackPoints(999, 1_000, 100), 99);
    assert.equal(cashbackPoints(1_000, 1_000, 100), 100);
    assert.equal(cashbackPoints(50_000, 1_000, 100), 100);
    assert.equal(cashbackPoints(9, 1_000, 100), 0);
    assert.equal(cashbackPoints(1, 10_000, 5), 1);
  });

  void it('stay exact far beyond 2^53 intermediate products', () => {
    assert.equal(cashbackPoints(1_000_000_000_000, 9_999, 1_000_000_000_000), 999_900_000_000);
  });
});

void describe('ranking campaigns for a payment', () => {
  void it('puts the campaign granting the most points first', () => {
    const ranked = rankCandidates(
      [
        candidate({ campaignId: 'cmp_low', cashbackBps: 100, maxPointsPerPayment: 1_000 }),
        candidate({ campaignId: 'cmp_high', cashbackBps: 500, maxPointsPerPayment: 1_000 }),
        candidate({ campaignId: 'cmp_capped', cashbackBps: 2_000, maxPointsPerPayment: 30 }),
      ],
      1_000,
    );
    assert.deepEqual(
      ranked.map((entry) => [entry.campaignId, entry.points]),
      [
        ['cmp_high', 50],
        ['cmp_capped', 30],
        ['cmp_low', 10],
      ],
    );
  });

  void it('breaks ties by the older campaign, then by id, the same on every replica', () => {
    const ranked = rankCandidates(
      [
        candidate({ campaignId: 'cmp_b', createdAt: new Date(2) }),
        candidate({ campaignId: 'cmp_c', createdAt: new Date(1) }),
        candidate({ campaignId: 'cmp_a', createdAt: new Date(2) }),
      ],
      1_000,
    );
    assert.deepEqual(
      ranked.map((entry) => entry.campaignId),
      ['cmp_c', 'cmp_a', 'cmp_b'],
    );
  });

  void it('leaves out campaigns granting nothing and those whose budget cannot cover their points', () => {
    const ranked = rankCandidates(
      [
        candidate({ campaignId: 'cmp_zero', cashbackBps: 1 }),
        candidate({ campaignId: 'cmp_short', budgetPoints: 1_000, grantedPoints: 950 }),
        candidate({ campaignId: 'cmp_exact', budgetPoints: 1_000, grantedPoints: 900 }),
      ],
      1_000,
    );
    assert.deepEqual(
      ranked.map((entry) => entry.campaignId),
      ['cmp_exact'],
    );
  });
});

void describe('grant requests', () => {
  const valid = {
    paymentId: 'pay_1',
    userId: 'usr_1',
    pointsAccountId: '',
    merchantId: 'mch_1',
    amount: '1500',
    currency: 'JPY',
    paidAt: new Date(0),
  };

  void it('accept a complete request', () => {
    assert.deepEqual(checkGrantRequest(valid), { ...valid, amount: 1_500 });
  });

  void it('name every bad field', () => {
    assert.throws(
      () => checkGrantRequest({ ...valid, paymentId: '', amount: '-3', currency: '', paidAt: undefined }),
      (error: unknown) =>
        error instanceof DomainError &&
        error.code === 'invalid_request' &&
        JSON.stringify(Object.keys(error.details?.['fields'] as object).sort()) ===
          JSON.stringify(['amount', 'currency', 'paidAt', 'paymentId']),
    );
  });
});
