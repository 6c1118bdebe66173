import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './support/campaign-harness.js';

/**
 * `concurrency` GrantCashback calls for different payments, all at once, against one campaign
 * (10 % up to 100 points, so ¥1,000 payments earn 100 points each) whose budget covers exactly
 * `grantsInBudget` of them; answers what was granted.
 */
async function race(h: Harness, concurrency: number, grantsInBudget: number) {
  const merchantId = `mch_race_${Math.random().toString(16).slice(2)}`;
  const budget = grantsInBudget * 100;
  const campaignId = await h.createCampaign({ merchantIds: [merchantId], budgetPoints: String(budget) });
  const users = Array.from({ length: concurrency }, () => h.newUser());
  const requests = users.map((user) => h.grantRequest(user, 1_000, { merchantId }));
  const answers = await Promise.all(requests.map((request) => h.client.grantCashback(request)));
  const granted = answers.filter((answer) => answer.grant?.status === 'GRANT_STATUS_GRANTED');
  const credits = requests.filter((request) => h.ledger.applied.has(`cashback_${request.paymentId}`));
  const rows = await h.rows(
    "SELECT payment_id, points FROM cashback_grants WHERE campaign_id = ? AND status = 'GRANTED'",
    [campaignId],
  );
  const { campaign } = await h.client.getCampaign({ campaignId });
  return { campaignId, budget, users, requests, answers, granted, credits, rows, campaign };
}

void describe('campaign budget under concurrency', { timeout: 120_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  void it('grants exactly as many payments as the budget covers among 200 concurrent calls', async () => {
    const result = await race(h, 200, 37);
    assert.equal(result.answers.length, 200);
    assert.equal(result.granted.length, 37);
    assert.equal(result.answers.filter((answer) => answer.grant?.status === 'GRANT_STATUS_NONE').length, 163);
    // The fake ledger received exactly 37 credits, for exactly the recorded grants.
    assert.equal(result.credits.length, 37);
    assert.deepEqual(
      result.rows.map((row) => String(row['payment_id'])).sort(),
      result.credits.map((request) => request.paymentId).sort(),
    );
    const total = result.rows.reduce((sum, row) => sum + Number(row['points']), 0);
    assert.equal(total, result.budget);
    assert.ok(total <= result.budget);
    const credited = result.users.reduce((sum, user) => sum + h.ledger.balance(user.pointsAccountId), 0);
    assert.equal(credited, result.budget);
    assert.deepEqual(
      [result.campaign?.grantedPoints, result.campaign?.remainingPoints],
      [String(result.budget), '0'],
    );
    // The Redis counter ends where TiDB is.
    assert.equal(await h.app.counter.read(result.campaignId), 0);
  });

  void it('keeps TiDB the judge when the Redis counter drifts above it, and reconciles the counter', async () => {
    const merchantId = `mch_drift_${Math.random().toString(16).slice(2)}`;
    const campaignId = await h.createCampaign({ merchantIds: [merchantId], budgetPoints: '500' });
    await h.app.counter.set({
      campaignId,
      budgetPoints: 1_000_000,
      grantedPoints: 0,
      endsAt: new Date(Date.now() + 3_600_000),
    });
    const users = Array.from({ length: 20 }, () => h.newUser());
    const answers = await Promise.all(
      users.map((user) => h.client.grantCashback(h.grantRequest(user, 1_000, { merchantId }))),
    );
    assert.equal(answers.filter((answer) => answer.grant?.status === 'GRANT_STATUS_GRANTED').length, 5);
    assert.equal(
      users.reduce((sum, user) => sum + h.ledger.balance(user.pointsAccountId), 0),
      500,
    );
    await h.app.reconciler.reconcile(campaignId);
    assert.equal(await h.app.counter.read(campaignId), 0);
  });

  void it('recomputes a counter that fell below TiDB (points reserved by a process that died) from TiDB', async () => {
    const merchantId = `mch_low_${Math.random().toString(16).slice(2)}`;
    const campaignId = await h.createCampaign({ merchantIds: [merchantId], budgetPoints: '300' });
    await h.app.counter.set({
      campaignId,
      budgetPoints: 300,
      grantedPoints: 300,
      endsAt: new Date(Date.now() + 3_600_000),
    });
    const user = h.newUser();
    const refused = await h.client.grantCashback(h.grantRequest(user, 1_000, { merchantId }));
    assert.equal(refused.grant?.status, 'GRANT_STATUS_NONE');
    await h.app.reconciler.reconcileAll();
    assert.equal(await h.app.counter.read(campaignId), 300);
    const granted = await h.client.grantCashback(h.grantRequest(user, 1_000, { merchantId }));
    assert.equal(granted.grant?.status, 'GRANT_STATUS_GRANTED');
    assert.equal(await h.app.counter.read(campaignId), 200);
  });

  void it('sets a missing counter from TiDB on first use', async () => {
    const merchantId = `mch_missing_${Math.random().toString(16).slice(2)}`;
    const campaignId = await h.createCampaign({ merchantIds: [merchantId], budgetPoints: '1000' });
    await h.redis.del(
      `campaign-promo-test-${h.topics.cashback.split('test-')[1]}:budget:{${campaignId}}:remaining`,
    );
    assert.equal(await h.app.counter.read(campaignId), undefined);
    const user = h.newUser();
    const { grant } = await h.client.grantCashback(h.grantRequest(user, 1_000, { merchantId }));
    assert.equal(grant?.status, 'GRANT_STATUS_GRANTED');
    assert.equal(await h.app.counter.read(campaignId), 900);
  });
});

void describe('campaign budget with Redis unreachable', { timeout: 120_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ redisUrl: 'redis://127.0.0.1:1' });
  });
  after(() => h.close());

  void it('still grants exactly as many payments as the budget covers, through TiDB alone', async () => {
    const result = await race(h, 80, 13);
    assert.equal(result.granted.length, 13);
    assert.equal(result.credits.length, 13);
    assert.equal(result.rows.length, 13);
    assert.equal(
      result.users.reduce((sum, user) => sum + h.ledger.balance(user.pointsAccountId), 0),
      1_300,
    );
    assert.deepEqual([result.campaign?.grantedPoints, result.campaign?.remainingPoints], ['1300', '0']);
  });
});
