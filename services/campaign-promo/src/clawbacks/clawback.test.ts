import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError } from '@koban/platform';
import { checkClawbackRequest, clawbackPoints, decideClawback } from './clawback.js';

void describe('clawback points', () => {
  void it('are the points of the refunded share, less what earlier clawbacks took', () => {
    assert.equal(clawbackPoints({ points: 100, clawedBackPoints: 0 }, 1_000, 300), 30);
    assert.equal(clawbackPoints({ points: 100, clawedBackPoints: 30 }, 1_000, 1_000), 70);
    assert.equal(clawbackPoints({ points: 33, clawedBackPoints: 0 }, 333, 111), 11);
    assert.equal(clawbackPoints({ points: 33, clawedBackPoints: 11 }, 333, 333), 22);
  });

  void it('never add up to more than the grant, in any order of partial refunds', () => {
    const grant = { points: 77, clawedBackPoints: 0 };
    for (const totals of [
      [10, 500, 999, 1_000],
      [1_000, 10, 500],
      [333, 333, 666, 667, 1_000, 1_000],
    ]) {
      let taken = 0;
      for (const total of totals) {
        const points = clawbackPoints({ ...grant, clawedBackPoints: taken }, 1_000, total);
        assert.ok(points >= 0);
        taken += points;
      }
      assert.ok(taken <= 77);
      assert.equal(taken, Math.floor((77 * Math.max(...totals)) / 1_000));
    }
  });
});

void describe('deciding a clawback', () => {
  const request = { refundId: 'ref_1', paymentId: 'pay_1', paymentAmount: 1_000, totalRefundedAmount: 500 };
  const at = new Date(0);

  void it('waits for a grant not made yet', () => {
    assert.equal(decideClawback(request, undefined, at, at).state, 'AWAITING_GRANT');
  });

  void it('takes nothing from a NONE grant, and is done', () => {
    const decided = decideClawback(
      request,
      { status: 'NONE', campaignId: null, points: 0, clawedBackPoints: 0 },
      at,
      at,
    );
    assert.deepEqual([decided.state, decided.points, decided.ledgerTransferId], ['DONE', 0, null]);
  });

  void it('is PENDING with its transfer id when there are points to take back', () => {
    const decided = decideClawback(
      request,
      { status: 'GRANTED', campaignId: 'cmp_1', points: 100, clawedBackPoints: 0 },
      at,
      at,
    );
    assert.deepEqual(
      [decided.state, decided.points, decided.ledgerTransferId, decided.campaignId],
      ['PENDING', 50, 'clawback_ref_1', 'cmp_1'],
    );
  });
});

void describe('clawback requests', () => {
  void it('refuse a refunded total above the payment', () => {
    assert.throws(
      () =>
        checkClawbackRequest({
          refundId: 'r',
          paymentId: 'p',
          paymentAmount: '100',
          totalRefundedAmount: '101',
        }),
      (error: unknown) => error instanceof DomainError && error.code === 'invalid_request',
    );
  });
});
