import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ADMIN_TOKEN,
  call,
  createMerchant,
  createUser,
  startGateway,
  type ErrorBody,
  type Gateway,
} from './harness.js';

interface CampaignAnswer {
  campaignId: string;
  name: string;
  cashbackBps: number;
  maxPointsPerPayment: number;
  budgetPoints: number;
  startsAt: string;
  endsAt: string;
  merchantIds: string[];
  grantedPoints: number;
  remainingPoints: number;
}

const spring = {
  name: 'Spring 5%',
  cashbackBps: 500,
  maxPointsPerPayment: 300,
  budgetPoints: 10_000,
  startsAt: '2030-03-01T00:00:00Z',
  endsAt: '2030-04-01T00:00:00Z',
};

describe('campaigns (admin)', { timeout: 60_000 }, () => {
  let gateway: Gateway;
  before(async () => {
    gateway = await startGateway();
  });
  after(() => gateway.close());

  function createCampaign(body: unknown, token = ADMIN_TOKEN) {
    return call<CampaignAnswer & ErrorBody>(gateway, 'POST', '/v1/campaigns', { token, body });
  }

  it('creates a campaign (201 campaignId) and shows it with the points granted and left', async () => {
    const shop = await createMerchant(gateway);
    const created = await createCampaign({ ...spring, merchantIds: [shop.merchantId] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.match(created.body.campaignId, /\S/);
    const sent = gateway.campaigns.created.at(-1);
    assert.deepEqual(
      [sent?.maxPointsPerPayment, sent?.budgetPoints, sent?.merchantIds],
      ['300', '10000', [shop.merchantId]],
    );

    gateway.campaigns.grant(created.body.campaignId, 1_250);
    const shown = await call<CampaignAnswer>(gateway, 'GET', `/v1/campaigns/${created.body.campaignId}`, {
      token: ADMIN_TOKEN,
    });
    assert.equal(shown.status, 200);
    assert.deepEqual(shown.body, {
      campaignId: created.body.campaignId,
      ...spring,
      startsAt: '2030-03-01T00:00:00.000Z',
      endsAt: '2030-04-01T00:00:00.000Z',
      merchantIds: [shop.merchantId],
      grantedPoints: 1_250,
      remainingPoints: 8_750,
      createdAt: (shown.body as unknown as { createdAt: string }).createdAt,
    });
  });

  it('answers 400 invalid_request naming the bad fields, without calling campaign-promo', async () => {
    const before = gateway.campaigns.created.length;
    const response = await createCampaign({ ...spring, cashbackBps: 0, budgetPoints: '10', endsAt: 'soon' });
    assert.equal(response.status, 400);
    assert.deepEqual(Object.keys(response.body.error.details?.['fields'] as object).sort(), [
      'budgetPoints',
      'cashbackBps',
      'endsAt',
    ]);
    const backwards = await createCampaign({ ...spring, endsAt: '2030-02-01T00:00:00Z' });
    assert.deepEqual(backwards.body.error.details, { fields: { endsAt: 'must be after startsAt' } });
    assert.equal(gateway.campaigns.created.length, before);
  });

  it('is for the admin only: 404 to users and merchants, 401 without a token', async () => {
    const user = await createUser(gateway);
    const shop = await createMerchant(gateway);
    assert.equal((await createCampaign(spring, user.token)).status, 404);
    assert.equal((await createCampaign(spring, shop.apiKey)).status, 404);
    assert.equal((await call(gateway, 'POST', '/v1/campaigns', { body: spring })).status, 401);
    const created = await createCampaign(spring);
    const url = `/v1/campaigns/${created.body.campaignId}`;
    assert.equal((await call(gateway, 'GET', url, { token: user.token })).status, 404);
    assert.equal((await call(gateway, 'GET', url)).status, 401);
  });

  it('answers 404 for an unknown campaign', async () => {
    const response = await call<ErrorBody>(gateway, 'GET', '/v1/campaigns/cmp_nope', { token: ADMIN_TOKEN });
    assert.deepEqual([response.status, response.body.error.code], [404, 'not_found']);
  });

  it('answers 503 with Retry-After while campaign-promo is down', async () => {
    gateway.campaigns.setFault({ kind: 'unavailable' });
    try {
      const response = await createCampaign(spring);
      assert.deepEqual([response.status, response.body.error.code], [503, 'service_unavailable']);
      assert.ok(Number(response.headers['retry-after']) >= 1);
    } finally {
      gateway.campaigns.setFault({ kind: 'none' });
    }
  });
});
