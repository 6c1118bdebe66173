import { BankError, invalidRequest } from '../bank-errors.js';

/** The only currency Koban moves (API.md, "Conventions"). */
export const CURRENCY = 'JPY' as const;
/** Bounds of any amount a client may move, in yen. */
export const MIN_AMOUNT = 1;
export const MAX_AMOUNT = 10_000_000;
/** The longest caller-chosen id (charge id, refund id) the tables hold. */
const MAX_ID_LENGTH = 128;

export type ChargeStatus = 'PENDING' | 'APPROVED' | 'DECLINED';
export type ChargeDeclineReason = 'BANK_DECLINED' | 'CARD_DECLINED' | 'CARD_EXPIRED';
export type ChargePurpose = 'TOPUP' | 'PAYMENT';
export type ChargeSource = { kind: 'bank_account'; bankAccountId: string } | { kind: 'card'; cardId: string };

/**
 * Money pulled from a bank account or a card, once per caller-chosen `chargeId` (the idempotency
 * key sent to the bank or issuer). `refundedAmount` counts refunds from the moment they are
 * accepted, so that refunds can never exceed the charge.
 */
export interface Charge {
  chargeId: string;
  userId: string;
  amount: number;
  currency: typeof CURRENCY;
  source: ChargeSource;
  purpose: ChargePurpose;
  clientIp: string;
  status: ChargeStatus;
  declineReason: ChargeDeclineReason | null;
  authorizationCode: string | null;
  refundedAmount: number;
  createdAt: Date;
  finishedAt: Date | null;
}

/** What a bank or issuer answered for a charge. */
export type ChargeOutcome =
  | { status: 'APPROVED'; authorizationCode: string }
  | { status: 'DECLINED'; declineReason: ChargeDeclineReason };

export interface ChargeCommand {
  chargeId: string;
  userId: string;
  amount: number;
  currency: typeof CURRENCY;
  source: ChargeSource;
  purpose: ChargePurpose;
  clientIp: string;
}

/** CreateCharge as received, before checks (the amount is an int64 decimal string). */
export interface RawChargeCommand {
  chargeId: string;
  userId: string;
  amount: string;
  currency: string;
  source: ChargeSource | undefined;
  purpose: ChargePurpose | undefined;
  clientIp: string;
}

export interface RefundCommand {
  refundId: string;
  chargeId: string;
  amount: number;
}

export type RefundStatus = 'PENDING' | 'COMPLETED';

export interface ChargeRefund {
  refundId: string;
  chargeId: string;
  amount: number;
  status: RefundStatus;
  reference: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

function checkId(value: string): string | undefined {
  if (value === '') return 'required';
  return value.length > MAX_ID_LENGTH ? `at most ${MAX_ID_LENGTH} characters` : undefined;
}

/**
 * An int64 amount as the protos carry it, checked against 1..10,000,000 yen
 * (`amount_out_of_range` with `min` and `max` otherwise).
 */
export function checkAmount(raw: string): number {
  if (!/^-?\d+$/.test(raw)) throw invalidRequest({ amount: 'must be a whole number' });
  const value = BigInt(raw);
  if (value < BigInt(MIN_AMOUNT) || value > BigInt(MAX_AMOUNT)) {
    throw new BankError(
      'amount_out_of_range',
      `amount must be a whole number from ${MIN_AMOUNT} to ${MAX_AMOUNT}`,
      { min: MIN_AMOUNT, max: MAX_AMOUNT },
    );
  }
  return Number(value);
}

export function checkChargeCommand(raw: RawChargeCommand): ChargeCommand {
  const fields: Record<string, string> = {};
  const chargeIdProblem = checkId(raw.chargeId);
  if (chargeIdProblem !== undefined) fields['chargeId'] = chargeIdProblem;
  if (raw.userId === '') fields['userId'] = 'required';
  if (raw.source === undefined) fields['source'] = 'a bank account id or a card id is required';
  else if ((raw.source.kind === 'card' ? raw.source.cardId : raw.source.bankAccountId) === '') {
    fields['source'] = 'the source id is empty';
  }
  if (raw.purpose === undefined) fields['purpose'] = 'TOPUP or PAYMENT';
  if (raw.currency === '') fields['currency'] = 'required';
  if (Object.keys(fields).length > 0 || raw.source === undefined || raw.purpose === undefined) {
    throw invalidRequest(fields);
  }
  if (raw.currency !== CURRENCY) {
    throw new BankError('unsupported_currency', `currency ${raw.currency} is not supported; use JPY`);
  }
  return {
    chargeId: raw.chargeId,
    userId: raw.userId,
    amount: checkAmount(raw.amount),
    currency: CURRENCY,
    source: raw.source,
    purpose: raw.purpose,
    clientIp: raw.clientIp,
  };
}

const sourceKey = (source: ChargeSource): string =>
  source.kind === 'card' ? `card:${source.cardId}` : `bank:${source.bankAccountId}`;

/** Whether a repeated charge id asks for the same charge (else it is a reused key). */
export function isSameCharge(charge: Charge, command: ChargeCommand): boolean {
  return (
    charge.userId === command.userId &&
    charge.amount === command.amount &&
    charge.currency === command.currency &&
    charge.purpose === command.purpose &&
    sourceKey(charge.source) === sourceKey(command.source)
  );
}

export function checkRefundCommand(raw: {
  refundId: string;
  chargeId: string;
  amount: string;
}): RefundCommand {
  const fields: Record<string, string> = {};
  const refundIdProblem = checkId(raw.refundId);
  if (refundIdProblem !== undefined) fields['refundId'] = refundIdProblem;
  const chargeIdProblem = checkId(raw.chargeId);
  if (chargeIdProblem !== undefined) fields['chargeId'] = chargeIdProblem;
  if (Object.keys(fields).length > 0) throw invalidRequest(fields);
  return { refundId: raw.refundId, chargeId: raw.chargeId, amount: checkAmount(raw.amount) };
}

/** What is left to refund of a charge: nothing unless it was approved. */
export const refundable = (charge: Charge): number =>
  charge.status === 'APPROVED' ? charge.amount - charge.refundedAmount : 0;

export function refundExceedsCharge(charge: Charge): BankError {
  return new BankError('refund_exceeds_payment', 'the refund exceeds what is left of the charge', {
    refundable: refundable(charge),
  });
}

/** A charge with the answer of its bank or issuer. */
export function finishCharge(charge: Charge, outcome: ChargeOutcome, at: Date): Charge {
  return outcome.status === 'APPROVED'
    ? { ...charge, status: 'APPROVED', authorizationCode: outcome.authorizationCode, finishedAt: at }
    : { ...charge, status: 'DECLINED', declineReason: outcome.declineReason, finishedAt: at };
}
