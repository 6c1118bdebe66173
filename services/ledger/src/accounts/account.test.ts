import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkAccountIds,
  newAccountId,
  soleAccount,
  validateLookup,
  validateOpenAccount,
  type Account,
  type OpenAccountInput,
} from './account.js';

const wallet: OpenAccountInput = {
  ownerType: 'user',
  ownerId: 'usr_1',
  kind: 'wallet',
  currency: 'JPY',
  overdraftAllowed: false,
};

function fieldsOf(result: {
  ok: boolean;
  error?: { code: string; details?: unknown };
}): Record<string, string> {
  assert.equal(result.ok, false);
  assert.equal(result.error?.code, 'invalid_request');
  return (result.error?.details as { fields: Record<string, string> }).fields;
}

describe('validateOpenAccount', () => {
  it('accepts a user wallet in JPY and a system settlement account that may overdraft', () => {
    assert.deepEqual(validateOpenAccount(wallet), { ok: true, value: wallet });
    const settlement = {
      ...wallet,
      ownerType: 'system',
      ownerId: 'bank-settlement',
      kind: 'settlement',
    } as const;
    assert.equal(validateOpenAccount({ ...settlement, overdraftAllowed: true }).ok, true);
  });

  it('names every missing field', () => {
    const fields = fieldsOf(
      validateOpenAccount({
        ownerType: undefined,
        ownerId: '',
        kind: undefined,
        currency: '',
        overdraftAllowed: false,
      }),
    );
    assert.deepEqual(Object.keys(fields).sort(), ['kind', 'ownerId', 'ownerType']);
  });

  it('refuses overdraft on anything but a system account', () => {
    assert.deepEqual(Object.keys(fieldsOf(validateOpenAccount({ ...wallet, overdraftAllowed: true }))), [
      'overdraftAllowed',
    ]);
  });

  it('keeps each kind with its owner and unit', () => {
    assert.ok(fieldsOf(validateOpenAccount({ ...wallet, kind: 'merchant' }))['kind']);
    assert.ok(fieldsOf(validateOpenAccount({ ...wallet, currency: 'POINTS' }))['currency']);
    assert.ok(fieldsOf(validateOpenAccount({ ...wallet, kind: 'points', currency: 'JPY' }))['currency']);
    assert.equal(validateOpenAccount({ ...wallet, kind: 'points', currency: 'POINTS' }).ok, true);
  });

  it('refuses owner ids with spaces or over 128 characters', () => {
    assert.ok(fieldsOf(validateOpenAccount({ ...wallet, ownerId: 'a b' }))['ownerId']);
    assert.ok(fieldsOf(validateOpenAccount({ ...wallet, ownerId: 'x'.repeat(129) }))['ownerId']);
  });
});

describe('validateLookup', () => {
  it('treats an empty currency as "the only account of that kind"', () => {
    const checked = validateLookup({ ownerType: 'user', ownerId: 'usr_1', kind: 'points', currency: '' });
    assert.deepEqual(checked, {
      ok: true,
      value: { ownerType: 'user', ownerId: 'usr_1', kind: 'points', currency: undefined },
    });
  });
});

describe('soleAccount', () => {
  const lookup = { ownerType: 'user', ownerId: 'usr_1', kind: 'wallet', currency: undefined } as const;
  const account = (currency: string): Account => ({
    accountId: `acc_${currency}`,
    ownerType: 'user',
    ownerId: 'usr_1',
    kind: 'wallet',
    currency,
    overdraftAllowed: false,
    createdAt: new Date(0),
  });

  it('is account_not_found without candidates', () => {
    const found = soleAccount(lookup, []);
    assert.equal(!found.ok && found.error.code, 'account_not_found');
  });

  it('asks for the currency when the owner has several', () => {
    const found = soleAccount(lookup, [account('JPY'), account('USD')]);
    assert.equal(!found.ok && found.error.code, 'invalid_request');
  });
});

describe('checkAccountIds', () => {
  it('accepts up to 100 ids and refuses more', () => {
    assert.equal(checkAccountIds(Array.from({ length: 100 }, (_, i) => `acc_${i}`)).ok, true);
    assert.equal(checkAccountIds(Array.from({ length: 101 }, (_, i) => `acc_${i}`)).ok, false);
    assert.equal(checkAccountIds(['acc_1', '']).ok, false);
  });
});

describe('newAccountId', () => {
  it('is acc_ and 24 random hex digits', () => {
    const ids = new Set(Array.from({ length: 1000 }, newAccountId));
    assert.equal(ids.size, 1000);
    for (const id of ids) assert.match(id, /^acc_[0-9a-f]{24}$/);
  });
});
