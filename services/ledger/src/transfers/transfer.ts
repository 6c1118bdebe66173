// Transfers and their entries: validation, the idempotency fingerprint, the application of
// postings to locked balances, and history cursors. Pure rules only.
import { createHash, randomBytes } from 'node:crypto';
import { MAX_ACCOUNT_ID_LENGTH, type Balance } from '../accounts/account.js';
import { accountNotFound, invalidRequest, ledgerError, type Checked } from '../ledger-error.js';

export const transferKinds = [
  'payment',
  'peer',
  'topup',
  'refund',
  'cashback',
  'cashback_clawback',
  'adjustment',
] as const;
export type TransferKind = (typeof transferKinds)[number];

/** The largest amount one posting may move: ¥1,000,000,000,000 (far above any real payment). */
export const MAX_POSTING_AMOUNT = 1_000_000_000_000n;
/** The most postings one transfer may have (each locks up to two accounts). */
export const MAX_POSTINGS = 16;
export const MAX_TRANSFER_ID_LENGTH = 128;
export const MAX_REFERENCE_ID_LENGTH = 128;
export const MAX_DESCRIPTION_LENGTH = 512;
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** One leg: `amount` leaves `fromAccountId` and reaches `toAccountId`. */
export interface Posting {
  fromAccountId: string;
  toAccountId: string;
  /** Positive, minor units of `currency`. */
  amount: bigint;
  currency: string;
}

export interface TransferCommand {
  transferId: string;
  kind: TransferKind;
  referenceId: string;
  postings: Posting[];
  description: string;
}

export interface Transfer extends TransferCommand {
  createdAt: Date;
}

/** One side of a posting, as seen from one account. */
export interface Entry {
  entryId: string;
  transferId: string;
  accountId: string;
  counterpartyAccountId: string;
  postingIndex: number;
  /** Signed: positive credits the account, negative debits it. */
  amount: bigint;
  currency: string;
  balanceAfter: bigint;
  /** The account's version after this entry: 1 for its first entry, then +1 each. */
  sequence: bigint;
  kind: TransferKind;
  referenceId: string;
  description: string;
  createdAt: Date;
}

/** An account as a transfer sees it once locked. */
export interface LockedAccount {
  accountId: string;
  currency: string;
  overdraftAllowed: boolean;
  balance: bigint;
  version: bigint;
}

/** What a caller sent, int64 amounts still as decimal strings. */
export interface TransferInput {
  transferId: string;
  kind: TransferKind | undefined;
  referenceId: string;
  postings: readonly { fromAccountId: string; toAccountId: string; amount: string; currency: string }[];
  description: string;
}

/** What applying a transfer produced. */
export interface AppliedTransfer {
  transfer: Transfer;
  entries: Entry[];
  /** The touched accounts after the transfer, in lock (id) order. */
  accounts: LockedAccount[];
  /** The touched accounts' balances after the transfer, in order of first appearance. */
  balances: Balance[];
}

const idPattern = /^[\x21-\x7e]+$/;
const currencyPattern = /^[A-Z]{3,8}$/;
const amountPattern = /^-?\d{1,20}$/;

function checkId(value: string, max: number, required: boolean): string | undefined {
  if (value.length === 0) return required ? 'required' : undefined;
  if (value.length > max || !idPattern.test(value)) return `must be 1 to ${max} printable ASCII characters`;
  return undefined;
}

/** Parses an int64 decimal string as a posting amount: 1 to MAX_POSTING_AMOUNT. */
export function parseAmount(amount: string): bigint | undefined {
  if (!amountPattern.test(amount)) return undefined;
  const value = BigInt(amount);
  return value >= 1n && value <= MAX_POSTING_AMOUNT ? value : undefined;
}

/** Checks a Transfer request; every problem is named in `details.fields`. */
export function validateTransfer(input: TransferInput): Checked<TransferCommand> {
  const fields: Record<string, string> = {};
  const transferId = checkId(input.transferId, MAX_TRANSFER_ID_LENGTH, true);
  if (transferId) fields['transferId'] = transferId;
  if (input.kind === undefined) fields['kind'] = 'required';
  const referenceId = checkId(input.referenceId, MAX_REFERENCE_ID_LENGTH, false);
  if (referenceId) fields['referenceId'] = referenceId;
  if (input.description.length > MAX_DESCRIPTION_LENGTH) {
    fields['description'] = `at most ${MAX_DESCRIPTION_LENGTH} characters`;
  }
  if (input.postings.length === 0) fields['postings'] = 'at least one posting';
  if (input.postings.length > MAX_POSTINGS) fields['postings'] = `at most ${MAX_POSTINGS} postings`;

  const postings: Posting[] = [];
  for (const [index, posting] of input.postings.slice(0, MAX_POSTINGS).entries()) {
    const at = `postings[${index}]`;
    const from = checkId(posting.fromAccountId, MAX_ACCOUNT_ID_LENGTH, true);
    if (from) fields[`${at}.fromAccountId`] = from;
    const to = checkId(posting.toAccountId, MAX_ACCOUNT_ID_LENGTH, true);
    if (to) fields[`${at}.toAccountId`] = to;
    if (!from && !to && posting.fromAccountId === posting.toAccountId) {
      fields[`${at}.toAccountId`] = 'must differ from fromAccountId';
    }
    const amount = parseAmount(posting.amount);
    if (amount === undefined)
      fields[`${at}.amount`] = `must be a whole number from 1 to ${MAX_POSTING_AMOUNT}`;
    if (!currencyPattern.test(posting.currency)) fields[`${at}.currency`] = 'must be a currency code';
    if (amount !== undefined) postings.push({ ...posting, amount });
  }

  if (Object.keys(fields).length > 0 || input.kind === undefined) {
    return { ok: false, error: invalidRequest(fields) };
  }
  return {
    ok: true,
    value: {
      transferId: input.transferId,
      kind: input.kind,
      referenceId: input.referenceId,
      postings,
      description: input.description,
    },
  };
}

/**
 * What makes two requests with one transfer id "the same transfer": its kind, its reference and
 * its postings in order (SHA-256 of a canonical JSON). The description is left out, so that a
 * retry whose display text changed is still a replay; the reference is in, so that an id reused
 * for another business object with equal amounts is caught instead of silently replayed.
 */
export function transferFingerprint(command: Omit<TransferCommand, 'transferId' | 'description'>): string {
  const canonical = JSON.stringify([
    command.kind,
    command.referenceId,
    command.postings.map((p) => [p.fromAccountId, p.toAccountId, p.amount.toString(), p.currency]),
  ]);
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** The accounts a transfer touches, each once, in the order they must be locked (by id). */
export function lockOrder(postings: readonly Posting[]): string[] {
  const ids = new Set<string>();
  for (const posting of postings) {
    ids.add(posting.fromAccountId);
    ids.add(posting.toAccountId);
  }
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The accounts a transfer touches, each once, in order of first appearance in its postings. */
export function touchedAccounts(postings: readonly Posting[]): string[] {
  return [...new Set(postings.flatMap((p) => [p.fromAccountId, p.toAccountId]))];
}

/** A new random entry id: `ent_` and 24 hex digits. */
export function newEntryId(): string {
  return `ent_${randomBytes(12).toString('hex')}`;
}

/**
 * Applies the postings in order to the locked accounts: every account must exist and be kept in
 * the posting's currency, and no debit may take an account that cannot overdraft below zero.
 * Produces a debit and a credit entry per posting, each with the balance and version right
 * after it. All or nothing: the first failing posting fails the transfer.
 */
export function applyPostings(
  command: TransferCommand,
  locked: ReadonlyMap<string, LockedAccount>,
  options: { now: Date; newEntryId: () => string },
): Checked<AppliedTransfer> {
  const accounts = new Map<string, LockedAccount>();
  for (const [id, account] of locked) accounts.set(id, { ...account });
  const entries: Entry[] = [];
  const transfer: Transfer = { ...command, createdAt: options.now };

  for (const [postingIndex, posting] of command.postings.entries()) {
    const from = accounts.get(posting.fromAccountId);
    if (!from) return { ok: false, error: accountNotFound(posting.fromAccountId) };
    const to = accounts.get(posting.toAccountId);
    if (!to) return { ok: false, error: accountNotFound(posting.toAccountId) };
    for (const account of [from, to]) {
      if (account.currency !== posting.currency) {
        return {
          ok: false,
          error: ledgerError(
            'currency_mismatch',
            `account ${account.accountId} is kept in ${account.currency}`,
            {
              accountId: account.accountId,
              accountCurrency: account.currency,
              postingCurrency: posting.currency,
              postingIndex,
            },
          ),
        };
      }
    }
    const fromAfter = from.balance - posting.amount;
    if (fromAfter < 0n && !from.overdraftAllowed) {
      return {
        ok: false,
        error: ledgerError('insufficient_funds', 'insufficient funds', {
          accountId: from.accountId,
          available: from.balance.toString(),
          required: posting.amount.toString(),
        }),
      };
    }
    const toAfter = to.balance + posting.amount;
    if (fromAfter < INT64_MIN || toAfter > INT64_MAX) {
      return {
        ok: false,
        error: invalidRequest({ [`postings[${postingIndex}].amount`]: 'would overflow an account balance' }),
      };
    }
    from.balance = fromAfter;
    from.version += 1n;
    to.balance = toAfter;
    to.version += 1n;
    const shared = {
      transferId: command.transferId,
      postingIndex,
      currency: posting.currency,
      kind: command.kind,
      referenceId: command.referenceId,
      description: command.description,
      createdAt: options.now,
    };
    entries.push(
      {
        ...shared,
        entryId: options.newEntryId(),
        accountId: from.accountId,
        counterpartyAccountId: to.accountId,
        amount: -posting.amount,
        balanceAfter: from.balance,
        sequence: from.version,
      },
      {
        ...shared,
        entryId: options.newEntryId(),
        accountId: to.accountId,
        counterpartyAccountId: from.accountId,
        amount: posting.amount,
        balanceAfter: to.balance,
        sequence: to.version,
      },
    );
  }

  const touched = lockOrder(command.postings).flatMap((id) => {
    const account = accounts.get(id);
    return account ? [account] : [];
  });
  return {
    ok: true,
    value: {
      transfer,
      entries,
      accounts: touched,
      balances: balancesAfter(command.postings, entries, options.now),
    },
  };
}

/**
 * The balance of every account a transfer touched right after it, from its entries (the last
 * entry of each account), in order of first appearance: the same answer for the original call
 * and for every replay.
 */
export function balancesAfter(
  postings: readonly Posting[],
  entries: readonly Entry[],
  asOf: Date,
): Balance[] {
  const last = new Map<string, Entry>();
  for (const entry of entries) {
    const seen = last.get(entry.accountId);
    if (!seen || entry.sequence > seen.sequence) last.set(entry.accountId, entry);
  }
  return touchedAccounts(postings).flatMap((accountId) => {
    const entry = last.get(accountId);
    return entry
      ? [
          {
            accountId,
            currency: entry.currency,
            available: entry.balanceAfter,
            version: entry.sequence,
            asOf,
            stale: false,
          },
        ]
      : [];
  });
}

/** Rebuilds a transfer's postings from its debit entries (one per posting). */
export function postingsFromEntries(entries: readonly Entry[]): Posting[] {
  return entries
    .filter((entry) => entry.amount < 0n)
    .sort((a, b) => a.postingIndex - b.postingIndex)
    .map((entry) => ({
      fromAccountId: entry.accountId,
      toAccountId: entry.counterpartyAccountId,
      amount: -entry.amount,
      currency: entry.currency,
    }));
}

/**
 * Decides what a request whose transfer id is already recorded gets: the recorded transfer
 * (a replay) when its fingerprint matches, `transfer_id_reused` otherwise.
 */
export function replayOrReuse(command: TransferCommand, recordedFingerprint: string): Checked<'replay'> {
  if (transferFingerprint(command) === recordedFingerprint) return { ok: true, value: 'replay' };
  return {
    ok: false,
    error: ledgerError('transfer_id_reused', 'the transfer id was already used for another transfer', {
      transferId: command.transferId,
    }),
  };
}

/** Where a page of history ends: older entries have a lower sequence. */
export interface EntryCursor {
  accountId: string;
  beforeSequence: bigint;
}

/** The opaque `next_page_token` for the entries of `accountId` older than `sequence`. */
export function encodeEntryCursor(cursor: EntryCursor): string {
  return Buffer.from(JSON.stringify({ a: cursor.accountId, s: cursor.beforeSequence.toString() })).toString(
    'base64url',
  );
}

/** Reads a page token; undefined when it is malformed or belongs to another account. */
export function decodeEntryCursor(token: string, accountId: string): EntryCursor | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { a, s } = parsed as { a?: unknown; s?: unknown };
    if (a !== accountId || typeof s !== 'string' || !/^\d{1,19}$/.test(s)) return undefined;
    return { accountId, beforeSequence: BigInt(s) };
  } catch {
    return undefined;
  }
}

/** A ListEntries request once checked. */
export interface EntryPageRequest {
  accountId: string;
  pageSize: number;
  cursor: EntryCursor | undefined;
}

/** Checks page size (0 → 20, else 1..100) and page token. */
export function validateEntryPage(input: {
  accountId: string;
  pageSize: number;
  pageToken: string;
}): Checked<EntryPageRequest> {
  const fields: Record<string, string> = {};
  const accountId = checkId(input.accountId, MAX_ACCOUNT_ID_LENGTH, true);
  if (accountId) fields['accountId'] = accountId;
  const pageSize = input.pageSize === 0 ? DEFAULT_PAGE_SIZE : input.pageSize;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    fields['pageSize'] = `must be 1 to ${MAX_PAGE_SIZE} (0 means ${DEFAULT_PAGE_SIZE})`;
  }
  let cursor: EntryCursor | undefined;
  if (input.pageToken !== '') {
    cursor = decodeEntryCursor(input.pageToken, input.accountId);
    if (!cursor) fields['pageToken'] = 'not a page token of this account';
  }
  if (Object.keys(fields).length > 0) return { ok: false, error: invalidRequest(fields) };
  return { ok: true, value: { accountId: input.accountId, pageSize, cursor } };
}
