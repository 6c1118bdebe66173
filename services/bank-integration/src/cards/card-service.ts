import type { Logger } from '@koban/platform';
import { BankError, invalidRequest, notFound, serviceUnavailable } from '../bank-errors.js';
import type { IssuerAdapter } from '../issuer/issuer-adapter.js';
import type { LockoutGuard } from '../lockout/lockout-guard.js';
import type { CardCheckSubject } from '../lockout/lockout.js';
import type { CardVault } from '../vault/card-vault.js';
import {
  detectBrand,
  isCvcShaped,
  isLuhnValid,
  last4,
  newCardId,
  normalizeExpYear,
  normalizePan,
  type Card,
  type CardDetails,
} from './card.js';
import type { CardStore } from './card-store.js';

/** RegisterCard as received. `number` and `cvc` are never logged, stored or passed on. */
export interface RegisterCardCommand {
  userId: string;
  number: string;
  expMonth: number;
  expYear: number;
  cvc: string;
  clientIp: string;
}

export interface CardService {
  /**
   * Verifies a card with the issuer and stores it in the vault: the lockout first (fraud),
   * then the number, then the issuer; every failed check is recorded with fraud. Registering a
   * card the user already has answers that card, with the new expiry.
   */
  register(command: RegisterCardCommand): Promise<Card>;
  get(cardId: string): Promise<Card>;
  list(userId: string): Promise<Card[]>;
  /** The card when it exists and belongs to the user; undefined otherwise (charges). */
  findOwned(cardId: string, userId: string): Promise<Card | undefined>;
  /**
   * The number of a stored card, for the issuer only. A card sealed under a key that is no longer
   * the active one is re-sealed under the active key on the way (lazy key rotation).
   */
  revealPan(card: Card): Promise<string>;
}

export interface CardServiceDeps {
  store: CardStore;
  vault: CardVault;
  /** The issuer behind its policy. */
  issuer: IssuerAdapter;
  lockout: LockoutGuard;
  now: () => Date;
  logger: Logger;
}

/** Checks everything but the number itself, which the lockout and the issuer judge. */
function checkShape(command: RegisterCardCommand): Omit<CardDetails, 'pan'> {
  const fields: Record<string, string> = {};
  if (command.userId === '') fields['userId'] = 'required';
  if (command.number === '') fields['number'] = 'required';
  if (!Number.isInteger(command.expMonth) || command.expMonth < 1 || command.expMonth > 12) {
    fields['expMonth'] = 'must be a month from 1 to 12';
  }
  const expYear = normalizeExpYear(command.expYear);
  if (expYear === undefined) fields['expYear'] = 'must be a year such as 2030';
  if (!isCvcShaped(command.cvc)) fields['cvc'] = 'must be 3 or 4 digits';
  if (Object.keys(fields).length > 0 || expYear === undefined) throw invalidRequest(fields);
  return { expMonth: command.expMonth, expYear, cvc: command.cvc };
}

export function createCardService(deps: CardServiceDeps): CardService {
  const logger = deps.logger.child({ component: 'cards' });
  const { store, vault, lockout } = deps;

  /** Stores a verified card, or refreshes the one the user already has with that number. */
  async function keep(userId: string, details: CardDetails, fingerprint: string): Promise<Card> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const now = deps.now();
      const existing = await store.findByFingerprint(userId, fingerprint);
      if (existing !== undefined) {
        await store.refresh(
          existing.cardId,
          details.expMonth,
          details.expYear,
          vault.seal(details.pan, existing.cardId),
          now,
        );
        return { ...existing, expMonth: details.expMonth, expYear: details.expYear };
      }
      const card: Card = {
        cardId: newCardId(),
        userId,
        brand: detectBrand(details.pan),
        last4: last4(details.pan),
        expMonth: details.expMonth,
        expYear: details.expYear,
        fingerprint,
        createdAt: now,
      };
      // A concurrent registration of the same card by the same user wins the insert; the loop
      // then refreshes the card it stored.
      if (await store.insert(card, vault.seal(details.pan, card.cardId), now)) return card;
    }
    throw new Error('a card insert conflicted with a row that cannot be read');
  }

  return {
    async register(command) {
      const shape = checkShape(command);
      const pan = normalizePan(command.number);
      const isCardNumber = pan !== undefined && isLuhnValid(pan);
      const subject: CardCheckSubject = {
        userId: command.userId,
        fingerprint: isCardNumber ? vault.fingerprint(pan) : '',
        clientIp: command.clientIp,
      };

      await lockout.assertMayTry(subject);
      if (!isCardNumber) {
        await lockout.recordFailure(subject, 'INVALID_NUMBER');
        throw new BankError('invalid_card_number', 'the card number is not valid');
      }

      const details: CardDetails = { ...shape, pan };
      let verification;
      try {
        verification = await deps.issuer.verify(details);
      } catch (error) {
        logger.warn({ err: error, userId: subject.userId }, 'the issuer did not answer a card verification');
        throw serviceUnavailable('the card issuer', error);
      }
      switch (verification) {
        case 'approved':
          break;
        case 'wrong_cvc':
          await lockout.recordFailure(subject, 'WRONG_CVC');
          throw new BankError('invalid_cvc', 'the card security code is wrong');
        case 'declined':
          await lockout.recordFailure(subject, 'DECLINED');
          throw new BankError('card_declined', 'the issuer declined the card');
        case 'expired':
          await lockout.recordFailure(subject, 'EXPIRED');
          throw new BankError('card_expired', 'the card has expired');
      }

      const card = await keep(subject.userId, details, subject.fingerprint);
      logger.info(
        { cardId: card.cardId, userId: card.userId, brand: card.brand, last4: card.last4 },
        'card registered',
      );
      return card;
    },

    async get(cardId) {
      const card = cardId === '' ? undefined : await store.find(cardId);
      if (card === undefined) throw notFound('card');
      return card;
    },

    async list(userId) {
      if (userId === '') throw invalidRequest({ userId: 'required' });
      return store.listByUser(userId);
    },

    async findOwned(cardId, userId) {
      const card = await store.find(cardId);
      return card?.userId === userId ? card : undefined;
    },

    async revealPan(card) {
      const sealed = await store.findSealed(card.cardId);
      if (sealed === undefined) throw notFound('card');
      const pan = vault.open(sealed, card.cardId);
      if (sealed.keyId !== vault.activeKeyId) {
        // Best effort: the charge goes on with the number either way, and the next use retries.
        try {
          const resealed = await store.reseal(
            card.cardId,
            sealed.keyId,
            vault.seal(pan, card.cardId),
            deps.now(),
          );
          if (resealed) {
            logger.info(
              { cardId: card.cardId, fromKey: sealed.keyId, toKey: vault.activeKeyId },
              'card re-sealed under the active vault key',
            );
          }
        } catch (error) {
          logger.warn({ err: error, cardId: card.cardId }, 'could not re-seal a card under the active key');
        }
      }
      return pan;
    },
  };
}
