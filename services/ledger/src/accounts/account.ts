// Accounts: who owns money, in what unit, and whether it may go below zero. Pure rules only.
import { randomBytes } from 'node:crypto';
import { invalidRequest, ledgerError, type Checked } from '../ledger-error.js';

export const ownerTypes = ['user', 'merchant', 'system'] as const;
export type OwnerType = (typeof ownerTypes)[number];

export const accountKinds = ['wallet', 'points', 'merchant', 'settlement', 'campaign'] as const;
export type AccountKind = (typeof accountKinds)[number];

/** Money in yen; JPY has no minor unit. */
export const JPY = 'JPY';
/** The unit of cashback points. */
export const POINTS = 'POINTS';

/**
 * The chart of accounts: who may own each kind and in which units it is kept. Only system
 * accounts (settlement with banks and card schemes, campaign budgets) may overdraft: they are
 * the platform's side of money entering and leaving, so their balance is negative by design.
 */
export const accountKindRules: Readonly<
  Record<AccountKind, { owner: OwnerType; currencies: readonly string[] }>
> = {
  wallet: { owner: 'user', currencies: [JPY] },
  points: { owner: 'user', currencies: [POINTS] },
  merchant: { owner: 'merchant', currencies: [JPY] },
  settlement: { owner: 'system', currencies: [JPY] },
  campaign: { owner: 'system', currencies: [POINTS] },
};

/**
 * The system accounts the ledger opens at start, so that `LookupAccount(SYSTEM, <ownerId>,
 * SETTLEMENT, "JPY")` finds them: the counterpart of money entering (top-ups) or leaving the
 * platform through banks and through card schemes.
 */
export const systemSettlementOwners = ['bank-settlement', 'card-settlement'] as const;

export interface Account {
  accountId: string;
  ownerType: OwnerType;
  ownerId: string;
  kind: AccountKind;
  currency: string;
  overdraftAllowed: boolean;
  createdAt: Date;
}

/** An account's spendable balance and the version it had then. */
export interface Balance {
  accountId: string;
  currency: string;
  /** Minor units; negative only for accounts that may overdraft. */
  available: bigint;
  /** Number of entries the account has had: grows with every change. */
  version: bigint;
  /** When the figure was true. */
  asOf: Date;
  /** True when it came from the cache because the database was unreachable. */
  stale: boolean;
}

/** Who an account belongs to and what it is for: its natural, unique key. */
export interface AccountKey {
  ownerType: OwnerType;
  ownerId: string;
  kind: AccountKind;
  currency: string;
}

export interface OpenAccountCommand extends AccountKey {
  overdraftAllowed: boolean;
}

/** An account lookup; without a currency, the owner's only account of that kind. */
export interface AccountLookup {
  ownerType: OwnerType;
  ownerId: string;
  kind: AccountKind;
  currency: string | undefined;
}

/** What a caller sent; enums the transport could not map are undefined. */
export interface OpenAccountInput {
  ownerType: OwnerType | undefined;
  ownerId: string;
  kind: AccountKind | undefined;
  currency: string;
  overdraftAllowed: boolean;
}

export type LookupAccountInput = Omit<OpenAccountInput, 'overdraftAllowed'>;

export const MAX_OWNER_ID_LENGTH = 128;
export const MAX_ACCOUNT_ID_LENGTH = 40;
/** GetBalances answers at most this many accounts at once. */
export const MAX_BALANCES_PER_CALL = 100;

const ownerIdPattern = /^[\x21-\x7e]+$/;

/** A new random, opaque account id: `acc_` and 24 hex digits (96 random bits). */
export function newAccountId(): string {
  return `acc_${randomBytes(12).toString('hex')}`;
}

function ownerProblems(input: LookupAccountInput, fields: Record<string, string>): void {
  if (input.ownerType === undefined) fields['ownerType'] = 'required';
  if (input.kind === undefined) fields['kind'] = 'required';
  if (input.ownerId.length === 0) fields['ownerId'] = 'required';
  else if (input.ownerId.length > MAX_OWNER_ID_LENGTH || !ownerIdPattern.test(input.ownerId)) {
    fields['ownerId'] = `must be 1 to ${MAX_OWNER_ID_LENGTH} printable ASCII characters`;
  }
  if (input.ownerType !== undefined && input.kind !== undefined) {
    const rule = accountKindRules[input.kind];
    if (rule.owner !== input.ownerType) fields['kind'] = `a ${input.kind} account belongs to a ${rule.owner}`;
  }
}

function currencyProblem(kind: AccountKind | undefined, currency: string): string | undefined {
  if (kind === undefined) return undefined;
  const allowed = accountKindRules[kind].currencies;
  return allowed.includes(currency) ? undefined : `a ${kind} account is kept in ${allowed.join(' or ')}`;
}

/** Checks an OpenAccount request against the chart of accounts. */
export function validateOpenAccount(input: OpenAccountInput): Checked<OpenAccountCommand> {
  const fields: Record<string, string> = {};
  ownerProblems(input, fields);
  const currency = currencyProblem(input.kind, input.currency);
  if (currency !== undefined) fields['currency'] = currency;
  if (input.overdraftAllowed && input.ownerType !== 'system') {
    fields['overdraftAllowed'] = 'only system accounts may overdraft';
  }
  if (Object.keys(fields).length > 0 || input.ownerType === undefined || input.kind === undefined) {
    return { ok: false, error: invalidRequest(fields) };
  }
  return {
    ok: true,
    value: {
      ownerType: input.ownerType,
      ownerId: input.ownerId,
      kind: input.kind,
      currency: input.currency,
      overdraftAllowed: input.overdraftAllowed,
    },
  };
}

/** Checks a LookupAccount request; an empty currency means "the only one of that kind". */
export function validateLookup(input: LookupAccountInput): Checked<AccountLookup> {
  const fields: Record<string, string> = {};
  ownerProblems(input, fields);
  if (input.currency !== '') {
    const currency = currencyProblem(input.kind, input.currency);
    if (currency !== undefined) fields['currency'] = currency;
  }
  if (Object.keys(fields).length > 0 || input.ownerType === undefined || input.kind === undefined) {
    return { ok: false, error: invalidRequest(fields) };
  }
  return {
    ok: true,
    value: {
      ownerType: input.ownerType,
      ownerId: input.ownerId,
      kind: input.kind,
      currency: input.currency === '' ? undefined : input.currency,
    },
  };
}

/** Checks one account id sent by a caller (`field` names it in the error). */
export function checkAccountId(accountId: string, field: string): Checked<string> {
  if (accountId.length === 0) return { ok: false, error: invalidRequest({ [field]: 'required' }) };
  if (accountId.length > MAX_ACCOUNT_ID_LENGTH) {
    return { ok: false, error: invalidRequest({ [field]: `at most ${MAX_ACCOUNT_ID_LENGTH} characters` }) };
  }
  return { ok: true, value: accountId };
}

/** Checks a GetBalances request: 0 to 100 ids, each well formed. */
export function checkAccountIds(accountIds: readonly string[]): Checked<string[]> {
  if (accountIds.length > MAX_BALANCES_PER_CALL) {
    return { ok: false, error: invalidRequest({ accountIds: `at most ${MAX_BALANCES_PER_CALL}` }) };
  }
  for (const [index, accountId] of accountIds.entries()) {
    const checked = checkAccountId(accountId, `accountIds[${index}]`);
    if (!checked.ok) return checked;
  }
  return { ok: true, value: [...accountIds] };
}

/**
 * The one account a currency-less lookup resolves to; several (one per currency) is ambiguous
 * and must name the currency.
 */
export function soleAccount(lookup: AccountLookup, candidates: readonly Account[]): Checked<Account> {
  const [first, ...others] = candidates;
  if (first === undefined) {
    return {
      ok: false,
      error: ledgerError('account_not_found', 'account not found', {
        ownerType: lookup.ownerType,
        ownerId: lookup.ownerId,
        kind: lookup.kind,
      }),
    };
  }
  if (others.length > 0) {
    return {
      ok: false,
      error: invalidRequest({
        currency: `required: the owner has ${lookup.kind} accounts in ${candidates.map((a) => a.currency).join(', ')}`,
      }),
    };
  }
  return { ok: true, value: first };
}
