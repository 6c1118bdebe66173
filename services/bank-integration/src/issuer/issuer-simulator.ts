import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { isExpired } from '../cards/card.js';
import {
  OutcomeMemory,
  createSimulatedCounterparty,
  type SimulationSettings,
} from '../simulation/simulated-counterparty.js';
import type {
  CardAuthorizationOutcome,
  CardRefundOutcome,
  CardVerificationOutcome,
  IssuerAdapter,
} from './issuer-adapter.js';

/** The issuer simulator's test cards (API.md): their CVC is public, and one is always declined. */
export const TEST_CARDS: ReadonlyMap<string, { cvc: string; declined: boolean }> = new Map([
  ['4111111111111111', { cvc: '123', declined: false }],
  ['5555555555554444', { cvc: '321', declined: false }],
  ['4000000000000002', { cvc: '123', declined: true }],
]);

/**
 * The CVC of any other card: three digits from an HMAC of the number under the simulator's
 * secret (`ISSUER_SIM_SECRET`), so that only someone holding the secret can know it.
 */
export function derivedCvc(secret: string, pan: string): string {
  const digest = createHmac('sha256', secret).update(`cvc:${pan}`, 'utf8').digest();
  return String(digest.readUInt32BE(0) % 1000).padStart(3, '0');
}

/** The CVC the simulated issuer expects for a card number. */
export function expectedCvc(secret: string, pan: string): string {
  return TEST_CARDS.get(pan)?.cvc ?? derivedCvc(secret, pan);
}

/** Compares in constant time, so response timing says nothing about how close a guess was. */
function sameCvc(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

function authorizationCode(key: string): string {
  return createHash('sha256').update(`auth:${key}`).digest('hex').slice(0, 8).toUpperCase();
}

export interface IssuerSimulatorSettings extends SimulationSettings {
  /** `ISSUER_SIM_SECRET`. */
  secret: string;
  now?: () => Date;
}

/**
 * The simulated card issuer behind the real adapter interface. Verification: an expired card is
 * `expired`, a wrong CVC `wrong_cvc`, the declining test card `declined`, anything else
 * `approved`. Authorisations are approved unless the card is the declining one or has expired
 * since; refunds always go through. The simulator keeps no card number: outcomes are remembered
 * by idempotency key only.
 */
export function createIssuerSimulator(settings: IssuerSimulatorSettings): IssuerAdapter {
  const now = settings.now ?? (() => new Date());
  const network = createSimulatedCounterparty('issuer', settings);
  const authorizations = new OutcomeMemory<CardAuthorizationOutcome>(network.rememberedKeys);
  const refunds = new OutcomeMemory<CardRefundOutcome>(network.rememberedKeys);
  const declines = (pan: string) => TEST_CARDS.get(pan)?.declined === true;

  return {
    verify: (request) =>
      network.once((): CardVerificationOutcome => {
        if (isExpired(request.expMonth, request.expYear, now())) return 'expired';
        if (!sameCvc(request.cvc, expectedCvc(settings.secret, request.pan))) return 'wrong_cvc';
        return declines(request.pan) ? 'declined' : 'approved';
      }),

    authorize: (request) =>
      network.keyed(authorizations, request.idempotencyKey, (): CardAuthorizationOutcome => {
        if (isExpired(request.expMonth, request.expYear, now())) {
          return { outcome: 'declined', reason: 'card_expired' };
        }
        if (declines(request.pan)) return { outcome: 'declined', reason: 'card_declined' };
        return { outcome: 'approved', authorizationCode: authorizationCode(request.idempotencyKey) };
      }),

    refund: (request) =>
      network.keyed(refunds, request.idempotencyKey, () => ({
        reference: `RF${authorizationCode(request.idempotencyKey)}`,
      })),
  };
}
