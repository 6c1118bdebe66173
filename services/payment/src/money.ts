import { PaymentError, invalidRequest } from './payment-errors.js';

/** The only currency Koban moves (API.md, "Conventions"). */
export const CURRENCY = 'JPY' as const;
/** Bounds of any amount a client may ask to move, in yen. */
export const MIN_AMOUNT = 1;
export const MAX_AMOUNT = 10_000_000;

/** Refuses any currency but JPY with `unsupported_currency`; empty is `invalid_request`. */
export function checkCurrency(currency: string, field = 'currency'): typeof CURRENCY {
  if (currency === '') throw invalidRequest({ [field]: 'required' });
  if (currency !== CURRENCY) {
    throw new PaymentError('unsupported_currency', `currency ${currency} is not supported; use JPY`);
  }
  return CURRENCY;
}

/**
 * An int64 amount as the protos carry it (a decimal string), checked against 1..10,000,000 yen
 * (`amount_out_of_range` with `min` and `max` otherwise). Safe to turn into a number after that.
 */
export function checkAmount(raw: string): number {
  if (!/^-?\d+$/.test(raw)) throw invalidRequest({ amount: 'must be a whole number' });
  const value = BigInt(raw);
  if (value < BigInt(MIN_AMOUNT) || value > BigInt(MAX_AMOUNT)) {
    throw new PaymentError(
      'amount_out_of_range',
      `amount must be a whole number from ${MIN_AMOUNT} to ${MAX_AMOUNT}`,
      { min: MIN_AMOUNT, max: MAX_AMOUNT },
    );
  }
  return Number(value);
}
