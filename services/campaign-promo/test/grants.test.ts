import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError, decodeEnvelope, toTimestamp } from '@koban/platform';
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

void describe('cashback grants', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  /** A merchant no other test's campaign applies to, with one campaign of its own. */
  const merchantWithCampaign = async (overrides: Parameters<Harness['createCampaign']>[0] = {}) => {
    const merchantId = `mch_${Math.random().toString(16).slice(2)}`;
    const campaignId = await h.createCampaign({ merchantIds: [merchantId], ...overrides });
    return { merchantId, campaignId };
  };

  void it('grants 10 % up to 100 points per payment and credits them from the campaign account', async () => {
    const { merchantId, campaignId } = await merchantWithCampaign();
    const user = h.newUser();
    const cases: Array<[amount: number, points: number]> = [
      [500, 50],
      [999, 99],
      [1_000, 100],
      [5_000, 100],
      [9, 0],
    ];
    for (const [amount, points] of cases) {
      const request = h.grantRequest(user, amount, { merchantId });
      const { grant, replayed } = await h.client.grantCashback(request);
      assert.equal(replayed, false);
      if (points === 0) {
        assert.equal(grant?.status, 'GRANT_STATUS_NONE', `amount ${amount}`);
        continue;
      }
      assert.equal(grant?.status, 'GRANT_STATUS_GRANTED', `amount ${amount}`);
      assert.equal(grant.points, String(points), `amount ${amount}`);
      assert.equal(grant.campaignId, campaignId);
      assert.equal(grant.ledgerTransferId, `cashback_${request.paymentId}`);
      assert.ok(grant.grantedAt);
      const transfer = h.ledger.applied.get(`cashback_${request.paymentId}`);
      assert.equal(transfer?.kind, 'TRANSFER_KIND_CASHBACK');
      assert.equal(transfer.referenceId, request.paymentId);
      assert.deepEqual(
        transfer.postings.map((posting) => [posting.toAccountId, posting.amount, posting.currency]),
        [[user.pointsAccountId, String(points), 'POINTS']],
      );
    }
    assert.equal(h.ledger.balance(user.pointsAccountId), 349);
    const { campaign } = await h.client.getCampaign({ campaignId });
    assert.equal(campaign?.grantedPoints, '349');
    assert.equal(campaign.remainingPoints, String(1_000_000 - 349));
  });

  void it('writes CashbackGranted to the outbox once the ledger confirmed the credit', async () => {
    const { merchantId, campaignId } = await merchantWithCampaign();
    const user = h.newUser();
    const request = h.grantRequest(user, 700, { merchantId });
    await h.client.grantCashback(request);
    const rows = await h.rows(
      'SELECT topic, event_key, event_type, payload FROM outbox WHERE event_key = ?',
      [user.pointsAccountId],
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.['topic'], h.topics.cashback);
    assert.equal(rows[0]?.['event_type'], 'CashbackGranted');
    const envelope = decodeEnvelope(rows[0]?.['payload'] as Buffer);
    assert.equal(envelope.producer, 'campaign-promo');
    assert.equal(envelope.key, user.pointsAccountId);
    assert.deepEqual(
      { ...envelope.cashbackGranted, grantedAt: null },
      {
        paymentId: request.paymentId,
        userId: user.userId,
        pointsAccountId: user.pointsAccountId,
        campaignId,
        points: '70',
        ledgerTransferId: `cashback_${request.paymentId}`,
        deferred: false,
        grantedAt: null,
      },
    );
  });

  void it('grants a payment once however often it is asked, concurrently or not', async () => {
    const { merchantId } = await merchantWithCampaign();
    const user = h.newUser();
    const request = h.grantRequest(user, 2_000, { merchantId });
    const answers = await Promise.all(Array.from({ length: 10 }, () => h.client.grantCashback(request)));
    const again = await h.client.grantCashback({ ...request, amount: '9000' });
    assert.equal(answers.filter((answer) => !answer.replayed).length, 1);
    for (const answer of [...answers, again]) {
      assert.equal(answer.grant?.status, 'GRANT_STATUS_GRANTED');
      assert.equal(answer.grant.points, '100');
    }
    assert.equal(again.replayed, true);
    assert.equal(h.ledger.balance(user.pointsAccountId), 100);
    assert.equal(
      (await h.rows('SELECT 1 FROM cashback_grants WHERE payment_id = ?', [request.paymentId])).length,
      1,
    );
    assert.equal(
      (await h.rows('SELECT 1 FROM outbox WHERE event_key = ?', [user.pointsAccountId])).length,
      1,
    );
  });

  void it('applies a merchant list: only payments at a listed merchant are granted', async () => {
    const { merchantId } = await merchantWithCampaign();
    const user = h.newUser();
    const elsewhere = await h.client.grantCashback(
      h.grantRequest(user, 1_000, { merchantId: 'mch_not_listed' }),
    );
    const listed = await h.client.grantCashback(h.grantRequest(user, 1_000, { merchantId }));
    assert.equal(elsewhere.grant?.status, 'GRANT_STATUS_NONE');
    assert.equal(listed.grant?.status, 'GRANT_STATUS_GRANTED');
  });

  void it('applies its window to the time the payment was made: from startsAt, until before endsAt', async () => {
    const startsAt = Date.now() + 3_600_000;
    const endsAt = startsAt + 3_600_000;
    const { merchantId } = await merchantWithCampaign({
      startsAt: toTimestamp(startsAt),
      endsAt: toTimestamp(endsAt),
    });
    const user = h.newUser();
    const statusAt = async (paidAt: number) =>
      (await h.client.grantCashback(h.grantRequest(user, 1_000, { merchantId, paidAt: toTimestamp(paidAt) })))
        .grant?.status;
    assert.equal(await statusAt(Date.now()), 'GRANT_STATUS_NONE');
    assert.equal(await statusAt(startsAt - 1), 'GRANT_STATUS_NONE');
    assert.equal(await statusAt(startsAt), 'GRANT_STATUS_GRANTED');
    assert.equal(await statusAt(endsAt - 1), 'GRANT_STATUS_GRANTED');
    assert.equal(await statusAt(endsAt), 'GRANT_STATUS_NONE');
  });

  void it('applies the campaign granting the most points when several match', async () => {
    const merchantId = `mch_best_${Math.random().toString(16).slice(2)}`;
    const broad = await h.createCampaign({
      merchantIds: [merchantId],
      cashbackBps: 500,
      maxPointsPerPayment: '1000',
    });
    const rich = await h.createCampaign({
      merchantIds: [merchantId],
      cashbackBps: 1_000,
      maxPointsPerPayment: '30',
    });
    const user = h.newUser();
    const big = await h.client.grantCashback(h.grantRequest(user, 1_000, { merchantId }));
    assert.deepEqual([big.grant?.campaignId, big.grant?.points], [broad, '50']);
    const small = await h.client.grantCashback(h.grantRequest(user, 200, { merchantId }));
    assert.deepEqual([small.grant?.campaignId, small.grant?.points], [rich, '20']);
    assert.equal(h.ledger.balance(user.pointsAccountId), 70);
  });

  void it("grants all of a campaign's points or none of them, falling to the next best campaign", async () => {
    const merchantId = `mch_fall_${Math.random().toString(16).slice(2)}`;
    const best = await h.createCampaign({
      merchantIds: [merchantId],
      cashbackBps: 1_000,
      budgetPoints: '150',
    });
    const next = await h.createCampaign({
      merchantIds: [merchantId],
      cashbackBps: 100,
      budgetPoints: '1000',
    });
    const user = h.newUser();
    const first = await h.client.grantCashback(h.grantRequest(user, 1_000, { merchantId }));
    const second = await h.client.grantCashback(h.grantRequest(user, 1_000, { merchantId }));
    assert.deepEqual([first.grant?.campaignId, first.grant?.points], [best, '100']);
    // 50 points left in the best campaign: not enough for 100, so the next one grants its 10.
    assert.deepEqual([second.grant?.campaignId, second.grant?.points], [next, '10']);
    const { campaign } = await h.client.getCampaign({ campaignId: best });
    assert.deepEqual([campaign?.grantedPoints, campaign?.remainingPoints], ['100', '50']);
  });

  void it('answers NONE without a matching campaign, and GetCashbackGrant shows the recorded grant', async () => {
    const user = h.newUser();
    const request = h.grantRequest(user, 1_000, {
      merchantId: 'mch_no_campaign_here',
      paidAt: toTimestamp(0),
    });
    const { grant } = await h.client.grantCashback(request);
    assert.deepEqual([grant?.status, grant?.points, grant?.campaignId], ['GRANT_STATUS_NONE', '0', '']);
    const read = await h.client.getCashbackGrant({ paymentId: request.paymentId });
    assert.equal(read.grant?.status, 'GRANT_STATUS_NONE');
    assert.equal(
      (await domainError(h.client.getCashbackGrant({ paymentId: 'pay_unknown' }))).code,
      'not_found',
    );
  });

  void it('refuses a malformed request with invalid_request', async () => {
    const user = h.newUser();
    const error = await domainError(
      h.client.grantCashback({
        ...h.grantRequest(user, 1_000),
        paymentId: '',
        amount: '0',
        currency: 'USD',
        paidAt: null,
      }),
    );
    assert.equal(error.code, 'invalid_request');
    assert.deepEqual(Object.keys((error.details?.['fields'] as object) ?? {}).sort(), [
      'amount',
      'currency',
      'paidAt',
      'paymentId',
    ]);
  });

  void it('looks the points account up in the ledger when the request does not name it', async () => {
    const { merchantId } = await merchantWithCampaign();
    const user = h.newUser();
    const { grant } = await h.client.grantCashback(
      h.grantRequest(user, 1_000, { merchantId, pointsAccountId: '' }),
    );
    assert.equal(grant?.status, 'GRANT_STATUS_GRANTED');
    assert.equal(h.ledger.balance(user.pointsAccountId), 100);
    const stranger = await domainError(
      h.client.grantCashback(
        h.grantRequest({ userId: 'usr_without_points', pointsAccountId: '' }, 1_000, { merchantId }),
      ),
    );
    assert.equal(stranger.code, 'invalid_request');
  });

  void it('keeps a grant the ledger could not credit, answers service_unavailable, and credits it once later', async () => {
    const { merchantId, campaignId } = await merchantWithCampaign();
    const user = h.newUser();
    const request = h.grantRequest(user, 1_000, { merchantId });
    h.ledger.down = true;
    try {
      const error = await domainError(h.client.grantCashback(request));
      assert.equal(error.code, 'service_unavailable');
    } finally {
      h.ledger.down = false;
    }
    const [row] = await h.rows(
      'SELECT status, ledger_state, points FROM cashback_grants WHERE payment_id = ?',
      [request.paymentId],
    );
    assert.deepEqual(
      [row?.['status'], row?.['ledger_state'], Number(row?.['points'])],
      ['GRANTED', 'PENDING', 100],
    );
    // The points stay taken from the budget while the credit is pending: never granted twice.
    assert.equal((await h.client.getCampaign({ campaignId })).campaign?.grantedPoints, '100');
    const pending = await h.client.getCashbackGrant({ paymentId: request.paymentId });
    assert.equal(pending.grant?.grantedAt, null);

    await h.app.worker.runOnce();
    assert.equal(h.ledger.balance(user.pointsAccountId), 100);
    const replay = await h.client.grantCashback(request);
    assert.equal(replay.replayed, true);
    assert.equal(replay.grant?.status, 'GRANT_STATUS_GRANTED');
    assert.ok(replay.grant.grantedAt);
    assert.equal(h.ledger.balance(user.pointsAccountId), 100);
    assert.equal(
      [...h.ledger.applied.keys()].filter((id) => id === `cashback_${request.paymentId}`).length,
      1,
    );
  });
});
