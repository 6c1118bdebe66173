import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DomainError, decodeEnvelope } from '@koban/platform';
import { startHarness, type Harness } from './support/campaign-harness.js';

async function domainError(call: Promise<unknown>): Promise<DomainError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a domain error');
}

void describe('cashback clawbacks', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  /** A payment of `amount` granted 10 % (up to `cap`) by a campaign of its own. */
  async function grantedPayment(amount: number, cap = 100_000) {
    const merchantId = `mch_${randomUUID()}`;
    const campaignId = await h.createCampaign({
      merchantIds: [merchantId],
      maxPointsPerPayment: String(cap),
    });
    const user = h.newUser();
    const request = h.grantRequest(user, amount, { merchantId });
    const { grant } = await h.client.grantCashback(request);
    assert.equal(grant?.status, 'GRANT_STATUS_GRANTED');
    return { campaignId, user, paymentId: request.paymentId, points: Number(grant.points) };
  }

  const clawback = (
    paymentId: string,
    paymentAmount: number,
    totalRefundedAmount: number,
    refundId = `ref_${randomUUID()}`,
  ) =>
    h.client.clawbackCashback({
      refundId,
      paymentId,
      paymentAmount: String(paymentAmount),
      totalRefundedAmount: String(totalRefundedAmount),
    });

  void it('takes back the points of the refunded share and returns them to the budget', async () => {
    const { campaignId, user, paymentId, points } = await grantedPayment(1_000);
    assert.equal(points, 100);
    const refundId = `ref_${randomUUID()}`;
    const { clawback: taken, replayed } = await clawback(paymentId, 1_000, 300, refundId);
    assert.equal(replayed, false);
    assert.deepEqual(
      [taken?.points, taken?.campaignId, taken?.ledgerTransferId],
      ['30', campaignId, `clawback_${refundId}`],
    );
    const transfer = h.ledger.applied.get(`clawback_${refundId}`);
    assert.equal(transfer?.kind, 'TRANSFER_KIND_CASHBACK_CLAWBACK');
    assert.equal(transfer.postings[0]?.fromAccountId, user.pointsAccountId);
    assert.equal(h.ledger.balance(user.pointsAccountId), 70);
    const { campaign } = await h.client.getCampaign({ campaignId });
    assert.deepEqual([campaign?.grantedPoints, campaign?.remainingPoints], ['70', String(1_000_000 - 70)]);
    const { grant } = await h.client.getCashbackGrant({ paymentId });
    assert.equal(grant?.clawedBackPoints, '30');
    const [event] = await h.rows(
      "SELECT payload FROM outbox WHERE event_type = 'CashbackClawedBack' AND event_key = ?",
      [user.pointsAccountId],
    );
    const envelope = decodeEnvelope(event?.['payload'] as Buffer);
    assert.deepEqual(
      [
        envelope.cashbackClawedBack?.refundId,
        envelope.cashbackClawedBack?.points,
        envelope.cashbackClawedBack?.userId,
      ],
      [refundId, '30', user.userId],
    );
  });

  void it('never takes back more than was granted across partial refunds, even concurrent ones', async () => {
    const { user, paymentId, points } = await grantedPayment(333);
    assert.equal(points, 33);
    const first = await clawback(paymentId, 333, 111);
    assert.equal(first.clawback?.points, '11');
    const second = await clawback(paymentId, 333, 333);
    assert.equal(second.clawback?.points, '22');
    const third = await clawback(paymentId, 333, 333);
    assert.equal(third.clawback?.points, '0');
    assert.equal(h.ledger.balance(user.pointsAccountId), 0);

    const other = await grantedPayment(1_000);
    const totals = [100, 250, 400, 700, 1_000, 1_000];
    const answers = await Promise.all(totals.map((total) => clawback(other.paymentId, 1_000, total)));
    const takenBack = answers.reduce((sum, answer) => sum + Number(answer.clawback?.points), 0);
    assert.equal(takenBack, 100);
    assert.equal(h.ledger.balance(other.user.pointsAccountId), 0);
  });

  void it('claws back once per refund id', async () => {
    const { user, paymentId } = await grantedPayment(1_000);
    const refundId = `ref_${randomUUID()}`;
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => clawback(paymentId, 1_000, 500, refundId)),
    );
    assert.equal(answers.filter((answer) => !answer.replayed).length, 1);
    for (const answer of answers) assert.equal(answer.clawback?.points, '50');
    assert.equal(h.ledger.balance(user.pointsAccountId), 50);
  });

  void it('takes nothing back from a payment that was granted nothing', async () => {
    const user = h.newUser();
    const request = h.grantRequest(user, 1_000, {
      merchantId: 'mch_without_campaign',
      paidAt: { seconds: '0', nanos: 0 },
    });
    await h.client.grantCashback(request);
    const { clawback: none } = await clawback(request.paymentId, 1_000, 1_000);
    assert.deepEqual([none?.points, none?.campaignId, none?.ledgerTransferId], ['0', '', '']);
  });

  void it('finishes a clawback the ledger could not take at once', async () => {
    const { user, paymentId } = await grantedPayment(1_000);
    h.ledger.down = true;
    const refundId = `ref_${randomUUID()}`;
    try {
      assert.equal(
        (await domainError(clawback(paymentId, 1_000, 1_000, refundId))).code,
        'service_unavailable',
      );
    } finally {
      h.ledger.down = false;
    }
    assert.equal(h.ledger.balance(user.pointsAccountId), 100);
    await h.app.worker.runOnce();
    assert.equal(h.ledger.balance(user.pointsAccountId), 0);
    const replay = await clawback(paymentId, 1_000, 1_000, refundId);
    assert.deepEqual([replay.replayed, replay.clawback?.points], [true, '100']);
  });

  void it("settles a refund that came before its payment's deferred grant once the grant is made", async () => {
    const merchantId = `mch_${randomUUID()}`;
    await h.createCampaign({ merchantIds: [merchantId] });
    const user = h.newUser();
    const request = h.grantRequest(user, 1_000, { merchantId });
    const early = await clawback(request.paymentId, 1_000, 400);
    assert.deepEqual([early.clawback?.points, early.clawback?.campaignId], ['0', '']);
    await h.client.grantCashback(request);
    assert.equal(h.ledger.balance(user.pointsAccountId), 100);
    await h.app.worker.runOnce();
    assert.equal(h.ledger.balance(user.pointsAccountId), 60);
    const { grant } = await h.client.getCashbackGrant({ paymentId: request.paymentId });
    assert.equal(grant?.clawedBackPoints, '40');
  });

  void it('refuses a refund larger than the payment with invalid_request', async () => {
    const error = await domainError(clawback('pay_x', 100, 101));
    assert.equal(error.code, 'invalid_request');
  });
});
