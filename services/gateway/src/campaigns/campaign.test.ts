import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toTimestamp } from '@koban/platform';
import type { Campaign } from '../downstream-clients.js';
import { ApiError } from '../http/api-error.js';
import { parseOrReject } from '../http/validation.js';
import { campaignBody, campaignView, createCampaignRequest } from './campaign.js';

const valid = {
  name: 'Spring 5%',
  cashbackBps: 500,
  maxPointsPerPayment: 300,
  budgetPoints: 100_000,
  startsAt: '2030-03-01T00:00:00Z',
  endsAt: '2030-03-31T23:59:59+09:00',
};

function fieldsOf(body: unknown): Record<string, string> {
  try {
    parseOrReject(campaignBody, body);
  } catch (error) {
    assert.ok(error instanceof ApiError);
    assert.deepEqual([error.statusCode, error.code], [400, 'invalid_request']);
    return (error.details as { fields: Record<string, string> }).fields;
  }
  assert.fail('expected 400 invalid_request');
}

describe('campaignBody', () => {
  it('accepts a campaign with or without merchants', () => {
    assert.equal(campaignBody.safeParse(valid).success, true);
    assert.equal(campaignBody.safeParse({ ...valid, merchantIds: ['mch_1'] }).success, true);
  });

  it('names each field out of range or malformed', () => {
    assert.deepEqual(
      Object.keys(
        fieldsOf({
          name: ' ',
          cashbackBps: 10_001,
          maxPointsPerPayment: 0,
          budgetPoints: 1.5,
          startsAt: 'tomorrow',
          endsAt: '2030-03-31',
          merchantIds: [''],
        }),
      ).sort(),
      ['budgetPoints', 'cashbackBps', 'endsAt', 'maxPointsPerPayment', 'merchantIds.0', 'name', 'startsAt'],
    );
  });

  it('wants the window to end after it starts', () => {
    assert.deepEqual(fieldsOf({ ...valid, endsAt: valid.startsAt }), { endsAt: 'must be after startsAt' });
  });
});

describe('createCampaignRequest', () => {
  it('sends int64s as strings, times as timestamps and each merchant once', () => {
    const request = createCampaignRequest({ ...valid, merchantIds: ['mch_1', 'mch_2', 'mch_1'] });
    assert.deepEqual(request, {
      name: 'Spring 5%',
      cashbackBps: 500,
      maxPointsPerPayment: '300',
      budgetPoints: '100000',
      startsAt: toTimestamp(Date.UTC(2030, 2, 1)),
      endsAt: toTimestamp(Date.UTC(2030, 2, 31, 14, 59, 59)),
      merchantIds: ['mch_1', 'mch_2'],
    });
  });
});

describe('campaignView', () => {
  it('answers the terms with the points granted and left', () => {
    const campaign: Campaign = {
      campaignId: 'cmp_1',
      name: 'Spring',
      cashbackBps: 500,
      maxPointsPerPayment: '300',
      budgetPoints: '1000',
      startsAt: toTimestamp(Date.UTC(2030, 2, 1)),
      endsAt: toTimestamp(Date.UTC(2030, 3, 1)),
      merchantIds: [],
      grantedPoints: '250',
      remainingPoints: '750',
      createdAt: null,
    };
    assert.deepEqual(campaignView(campaign), {
      campaignId: 'cmp_1',
      name: 'Spring',
      cashbackBps: 500,
      maxPointsPerPayment: 300,
      budgetPoints: 1000,
      startsAt: '2030-03-01T00:00:00.000Z',
      endsAt: '2030-04-01T00:00:00.000Z',
      merchantIds: [],
      grantedPoints: 250,
      remainingPoints: 750,
      createdAt: null,
    });
  });
});
