import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError, toTimestamp } from '@koban/platform';
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

void describe('campaigns', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  void it('creates a campaign with its own ledger budget account and shows its budget as unspent', async () => {
    const startsAt = Date.now() - 1_000;
    const endsAt = Date.now() + 86_400_000;
    const { campaign } = await h.client.createCampaign({
      name: '10-billion-yen campaign',
      cashbackBps: 2_000,
      maxPointsPerPayment: '1000',
      budgetPoints: '10000000000',
      startsAt: toTimestamp(startsAt),
      endsAt: toTimestamp(endsAt),
      merchantIds: ['mch_a', 'mch_b', 'mch_a'],
    });
    assert.ok(campaign);
    assert.match(campaign.campaignId, /^cmp_[0-9a-f]{32}$/);
    const opened = h.ledger.openAccountCalls.find((call) => call.ownerId === campaign.campaignId);
    assert.deepEqual(
      opened && {
        ownerType: opened.ownerType,
        kind: opened.kind,
        currency: opened.currency,
        overdraftAllowed: opened.overdraftAllowed,
      },
      {
        ownerType: 'OWNER_TYPE_SYSTEM',
        kind: 'ACCOUNT_KIND_CAMPAIGN',
        currency: 'POINTS',
        overdraftAllowed: true,
      },
    );

    const { campaign: read } = await h.client.getCampaign({ campaignId: campaign.campaignId });
    assert.ok(read);
    assert.equal(read.name, '10-billion-yen campaign');
    assert.equal(read.cashbackBps, 2_000);
    assert.equal(read.maxPointsPerPayment, '1000');
    assert.equal(read.budgetPoints, '10000000000');
    assert.equal(read.grantedPoints, '0');
    assert.equal(read.remainingPoints, '10000000000');
    assert.deepEqual(read.merchantIds, ['mch_a', 'mch_b']);
    assert.equal(Number(read.startsAt?.seconds), Math.floor(startsAt / 1000));
    assert.equal(Number(read.endsAt?.seconds), Math.floor(endsAt / 1000));
  });

  void it('refuses an invalid campaign with invalid_request naming every bad field', async () => {
    const error = await domainError(
      h.client.createCampaign({
        name: ' ',
        cashbackBps: 0,
        maxPointsPerPayment: '0',
        budgetPoints: '-5',
        startsAt: toTimestamp(Date.now()),
        endsAt: toTimestamp(Date.now() - 1),
        merchantIds: [''],
      }),
    );
    assert.equal(error.code, 'invalid_request');
    assert.deepEqual(Object.keys((error.details?.['fields'] as object) ?? {}).sort(), [
      'budgetPoints',
      'cashbackBps',
      'endsAt',
      'maxPointsPerPayment',
      'merchantIds',
      'name',
    ]);
  });

  void it('answers not_found for an unknown campaign', async () => {
    const error = await domainError(
      h.client.getCampaign({ campaignId: 'cmp_00000000000000000000000000000000' }),
    );
    assert.equal(error.code, 'not_found');
  });

  void it('lists campaigns newest first, page by page', async () => {
    const created: string[] = [];
    for (let i = 0; i < 5; i += 1) created.push(await h.createCampaign({ name: `page ${i}` }));
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await h.client.listCampaigns({ pageSize: 2, pageToken });
      assert.ok(page.campaigns.length <= 2);
      seen.push(...page.campaigns.map((campaign) => campaign.campaignId));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    const ours = seen.filter((id) => created.includes(id));
    assert.deepEqual(ours, [...created].reverse());
    assert.equal(new Set(seen).size, seen.length);
    assert.equal(
      (await domainError(h.client.listCampaigns({ pageSize: 0, pageToken: 'garbage' }))).code,
      'invalid_request',
    );
  });

  void it('answers service_unavailable and records nothing when the ledger cannot open the budget account', async () => {
    h.ledger.down = true;
    try {
      const error = await domainError(
        h.client.createCampaign({
          name: 'no ledger',
          cashbackBps: 100,
          maxPointsPerPayment: '10',
          budgetPoints: '100',
          startsAt: toTimestamp(Date.now()),
          endsAt: toTimestamp(Date.now() + 60_000),
          merchantIds: [],
        }),
      );
      assert.equal(error.code, 'service_unavailable');
    } finally {
      h.ledger.down = false;
    }
    assert.equal((await h.rows("SELECT 1 FROM campaigns WHERE name = 'no ledger'")).length, 0);
  });
});
