import { randomBytes } from 'node:crypto';

/** Card brands, as the proto names them without the `CARD_BRAND_` prefix. */
export type CardBrand = 'VISA' | 'MASTERCARD' | 'JCB' | 'AMEX' | 'OTHER';

/**
 * A card in the vault as the service sees it: never the number, only what may be shown (brand,
 * last four) and the fingerprint that recognises the same number across users.
 */
export interface Card {
  cardId: string;
  userId: string;
  brand: CardBrand;
  last4: string;
  expMonth: number;
  expYear: number;
  fingerprint: string;
  createdAt: Date;
}

/** What RegisterCard asks for, checked. `pan` and `cvc` never leave the service. */
export interface CardDetails {
  pan: string;
  expMonth: number;
  expYear: number;
  cvc: string;
}

export const newCardId = (): string => `card_${randomBytes(12).toString('hex')}`;

/**
 * The digits of a card number as typed: spaces and hyphens between groups are allowed.
 * Undefined when anything else is there or the length is not that of a card (12 to 19 digits).
 */
export function normalizePan(number: string): string | undefined {
  const digits = number.replace(/[ -]/g, '');
  return /^\d{12,19}$/.test(digits) ? digits : undefined;
}

/** Whether a digit string passes the Luhn (mod 10) check. */
export function isLuhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** The brand of a card number from its leading digits (IIN ranges). */
export function detectBrand(pan: string): CardBrand {
  const prefix2 = Number(pan.slice(0, 2));
  const prefix4 = Number(pan.slice(0, 4));
  if (pan.startsWith('4')) return 'VISA';
  if ((prefix2 >= 51 && prefix2 <= 55) || (prefix4 >= 2221 && prefix4 <= 2720)) return 'MASTERCARD';
  if (prefix2 === 34 || prefix2 === 37) return 'AMEX';
  if (prefix4 >= 3528 && prefix4 <= 3589) return 'JCB';
  return 'OTHER';
}

export const last4 = (pan: string): string => pan.slice(-4);

/** A two-digit year means 20YY; anything else must be a four-digit year of this century. */
export function normalizeExpYear(expYear: number): number | undefined {
  if (!Number.isInteger(expYear)) return undefined;
  if (expYear >= 0 && expYear <= 99) return 2000 + expYear;
  return expYear >= 2000 && expYear <= 2099 ? expYear : undefined;
}

/** A card is good through the last millisecond of its expiry month (UTC). */
export function isExpired(expMonth: number, expYear: number, now: Date): boolean {
  const firstOfNextMonth = Date.UTC(expYear, expMonth, 1);
  return now.getTime() >= firstOfNextMonth;
}

export const isCvcShaped = (cvc: string): boolean => /^\d{3,4}$/.test(cvc);
