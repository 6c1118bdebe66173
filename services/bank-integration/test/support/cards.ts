import { randomInt } from 'node:crypto';
import { DEV_ISSUER_SIM_SECRET } from '../../src/config.js';
import { expectedCvc } from '../../src/issuer/issuer-simulator.js';

/** A random Luhn-valid 16-digit number with the given prefix: a card no other test uses. */
export function randomCardNumber(prefix = '4'): string {
  let digits = prefix;
  while (digits.length < 15) digits += String(randomInt(10));
  for (let check = 0; check < 10; check++) {
    const candidate = digits + String(check);
    let sum = 0;
    for (let i = 0; i < candidate.length; i++) {
      let digit = Number(candidate[candidate.length - 1 - i]);
      if (i % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
      sum += digit;
    }
    if (sum % 10 === 0) return candidate;
  }
  throw new Error('unreachable: one check digit always fits');
}

/** The CVC the simulated issuer expects under the dev secret the tests run with. */
export const cvcOf = (pan: string): string => expectedCvc(DEV_ISSUER_SIM_SECRET, pan);

/** A CVC the issuer refuses for this card. */
export const wrongCvcOf = (pan: string): string => String((Number(cvcOf(pan)) + 1) % 1000).padStart(3, '0');

/** An expiry a few years ahead. */
export const future = { expMonth: 12, expYear: new Date().getUTCFullYear() + 3 };
