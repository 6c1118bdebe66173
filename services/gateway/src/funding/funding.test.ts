import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toTimestamp } from '@koban/platform';
import type { Card, Topup } from '../downstream-clients.js';
import { ApiError } from '../http/api-error.js';
import { parseOrReject } from '../http/validation.js';
import { cardBody, cardView, topupBody, topupOutcome, topupView } from './funding.js';

const PAN = '4111111111111111';
const CVC = '987';

function topup(overrides: Partial<Topup> = {}): Topup {
  return {
    topupId: 'top_1',
    status: 'TOPUP_STATUS_COMPLETED',
    userId: 'usr_1',
    amount: '5000',
    currency: 'JPY',
    bankAccountId: 'bac_1',
    source: 'bankAccountId',
    failureReason: 'TOPUP_FAILURE_REASON_UNSPECIFIED',
    createdAt: toTimestamp(Date.UTC(2030, 0, 1)),
    finishedAt: null,
    ...overrides,
  };
}

function rejection(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ApiError);
    return error;
  }
  assert.fail('expected an ApiError');
}

describe('cardBody', () => {
  it('names each mistyped field without quoting any card value', () => {
    const bodies = [
      { number: Number(PAN), expMonth: '12', expYear: 2030, cvc: Number(CVC) },
      { number: [PAN], expMonth: 12.5, cvc: { value: CVC } },
      { number: { pan: PAN }, expMonth: 1, expYear: 2030, cvc: [CVC] },
    ];
    for (const body of bodies) {
      const error = rejection(() => parseOrReject(cardBody, body));
      assert.equal(error.code, 'invalid_request');
      const details = JSON.stringify(error.details);
      assert.ok(details.includes('"number"'), details);
      assert.ok(!details.includes(PAN) && !details.includes(CVC), details);
      assert.ok(!error.message.includes(PAN) && !error.message.includes(CVC));
    }
  });

  it('takes the number and CVC as strings and the expiry as integers', () => {
    assert.deepEqual(parseOrReject(cardBody, { number: PAN, expMonth: 12, expYear: 2030, cvc: '012' }), {
      number: PAN,
      expMonth: 12,
      expYear: 2030,
      cvc: '012',
    });
  });
});

describe('topupBody', () => {
  it('takes exactly one source', () => {
    const base = { userId: 'usr_1', amount: 100, currency: 'JPY' };
    assert.equal(topupBody.safeParse({ ...base, source: { bankAccountId: 'bac_1' } }).success, true);
    assert.equal(topupBody.safeParse({ ...base, source: { cardId: 'card_1' } }).success, true);
    for (const source of [{}, { bankAccountId: 'bac_1', cardId: 'card_1' }]) {
      const error = rejection(() => parseOrReject(topupBody, { ...base, source }));
      assert.deepEqual(error.details, {
        fields: { source: 'must name exactly one of bankAccountId and cardId' },
      });
    }
    const missing = rejection(() => parseOrReject(topupBody, base));
    assert.deepEqual(missing.details, { fields: { source: 'is required' } });
  });
});

describe('cardView', () => {
  it('shows brand, last four and expiry, never the fingerprint', () => {
    const card: Card = {
      cardId: 'card_1',
      userId: 'usr_1',
      brand: 'CARD_BRAND_MASTERCARD',
      last4: '4444',
      expMonth: 1,
      expYear: 2031,
      fingerprint: 'fp',
      createdAt: null,
    };
    assert.deepEqual(cardView(card), {
      cardId: 'card_1',
      brand: 'mastercard',
      last4: '4444',
      expMonth: 1,
      expYear: 2031,
      createdAt: null,
    });
    assert.equal(cardView({ ...card, brand: 'CARD_BRAND_UNSPECIFIED' }).brand, 'other');
  });
});

describe('topupView', () => {
  it('answers the status as a word, the amount as a number and the source by its id', () => {
    assert.deepEqual(topupView(topup({ status: 'TOPUP_STATUS_PROCESSING' })), {
      topupId: 'top_1',
      status: 'PROCESSING',
      amount: 5000,
      currency: 'JPY',
      userId: 'usr_1',
      source: { bankAccountId: 'bac_1' },
      createdAt: '2030-01-01T00:00:00.000Z',
      finishedAt: null,
    });
    const byCard = topup({
      status: 'TOPUP_STATUS_FAILED',
      failureReason: 'TOPUP_FAILURE_REASON_CARD_DECLINED',
      source: 'cardId',
      cardId: 'card_1',
    });
    delete byCard.bankAccountId;
    const failed = topupView(byCard);
    assert.deepEqual(
      [failed.status, failed.failureReason, failed.source],
      ['FAILED', 'card_declined', { cardId: 'card_1' }],
    );
  });
});

describe('topupOutcome', () => {
  it('answers 201 while COMPLETED or PROCESSING, marked when replayed', () => {
    assert.equal(topupOutcome(topup(), false).status, 201);
    const processing = topupOutcome(topup({ status: 'TOPUP_STATUS_PROCESSING' }), true);
    assert.deepEqual([processing.status, processing.headers], [201, { 'idempotent-replayed': 'true' }]);
  });

  it('answers a FAILED top-up as the error its reason names', () => {
    const cases: Array<[Topup['failureReason'], number, string, string]> = [
      ['TOPUP_FAILURE_REASON_BANK_DECLINED', 402, 'bank_declined', 'bank_declined'],
      ['TOPUP_FAILURE_REASON_CARD_DECLINED', 402, 'card_declined', 'card_declined'],
      ['TOPUP_FAILURE_REASON_CARD_EXPIRED', 422, 'card_expired', 'card_expired'],
      ['TOPUP_FAILURE_REASON_ACCOUNT_LOCKED', 423, 'account_locked', 'account_locked'],
      ['TOPUP_FAILURE_REASON_TIMED_OUT', 402, 'bank_declined', 'timed_out'],
      ['TOPUP_FAILURE_REASON_UNSPECIFIED', 402, 'bank_declined', 'bank_declined'],
    ];
    for (const [failureReason, status, code, reason] of cases) {
      const error = rejection(() =>
        topupOutcome(topup({ status: 'TOPUP_STATUS_FAILED', failureReason }), true),
      );
      assert.deepEqual(
        [error.statusCode, error.code, error.details, error.headers],
        [status, code, { reason, topupId: 'top_1' }, { 'idempotent-replayed': 'true' }],
        failureReason,
      );
    }
  });
});
