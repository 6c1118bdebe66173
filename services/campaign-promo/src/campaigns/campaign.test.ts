import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError } from '@koban/platform';
import { checkNewCampaign, decodePageToken, encodePageToken } from './campaign.js';

const valid = {
  name: ' Summer ',
  cashbackBps: 1_000,
  maxPointsPerPayment: '100',
  budgetPoints: '10000000000',
  startsAt: new Date(0),
  endsAt: new Date(1),
  merchantIds: ['mch_a', 'mch_a', 'mch_b'],
};

void describe('new campaigns', () => {
  void it('are trimmed, and their merchant list deduplicated', () => {
    const campaign = checkNewCampaign(valid);
    assert.equal(campaign.name, 'Summer');
    assert.equal(campaign.budgetPoints, 10_000_000_000);
    assert.deepEqual(campaign.merchantIds, ['mch_a', 'mch_b']);
  });

  void it('need a window that ends after it starts', () => {
    assert.throws(
      () => checkNewCampaign({ ...valid, endsAt: new Date(0) }),
      (error: unknown) => error instanceof DomainError && 'endsAt' in (error.details?.['fields'] as object),
    );
  });

  void it('refuse a budget beyond what stays exact', () => {
    assert.throws(
      () => checkNewCampaign({ ...valid, budgetPoints: '99999999999999999999' }),
      (error: unknown) =>
        error instanceof DomainError && 'budgetPoints' in (error.details?.['fields'] as object),
    );
  });
});

void describe('page tokens', () => {
  void it('round-trip, and anything else is invalid_request', () => {
    const cursor = { createdAt: new Date(1_700_000_000_123), campaignId: `cmp_${'a'.repeat(32)}` };
    assert.deepEqual(decodePageToken(encodePageToken(cursor)), cursor);
    assert.equal(decodePageToken(''), undefined);
    assert.throws(() => decodePageToken('bm9wZQ'), DomainError);
  });
});
