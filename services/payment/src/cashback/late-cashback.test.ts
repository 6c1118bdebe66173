import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildEnvelope, decodeEnvelope, encodeEnvelope } from '@koban/platform';
import { lateCashbackOf } from './late-cashback.js';

const granted = (points: string, campaignId = 'cmp_1') =>
  decodeEnvelope(
    encodeEnvelope(
      buildEnvelope(
        'cashbackGranted',
        { paymentId: 'pay_1', userId: 'usr_1', pointsAccountId: 'acc_p', campaignId, points, deferred: true },
        { key: 'acc_p', producer: 'campaign-promo' },
      ),
    ),
  );

void describe('lateCashbackOf', () => {
  void it('reads a grant with points as GRANTED with its points and campaign', () => {
    assert.deepEqual(lateCashbackOf(granted('30')), {
      paymentId: 'pay_1',
      cashback: { status: 'GRANTED', points: 30, campaignId: 'cmp_1' },
    });
  });

  void it('reads a grant of 0 points without a campaign as NONE', () => {
    assert.deepEqual(lateCashbackOf(granted('0', '')), {
      paymentId: 'pay_1',
      cashback: { status: 'NONE', points: 0, campaignId: null },
    });
  });

  void it('skips a grant whose points are not a whole number', () => {
    assert.ok('skip' in lateCashbackOf(granted('-5')));
  });

  void it('skips a clawback: the payment keeps showing the points granted', () => {
    const clawedBack = decodeEnvelope(
      encodeEnvelope(
        buildEnvelope(
          'cashbackClawedBack',
          { refundId: 'ref_1', paymentId: 'pay_1', points: '10', campaignId: 'cmp_1' },
          { key: 'acc_p', producer: 'campaign-promo' },
        ),
      ),
    );
    assert.deepEqual(lateCashbackOf(clawedBack), { skip: 'not a grant (cashbackClawedBack)' });
  });
});
