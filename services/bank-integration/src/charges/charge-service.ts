import type { Db, Logger } from '@koban/platform';
import { BankError, notFound, serviceUnavailable } from '../bank-errors.js';
import type { BankAccountService } from '../bank-accounts/bank-account-service.js';
import type { BankDirectory } from '../banks/bank-adapter.js';
import type { Card } from '../cards/card.js';
import type { CardService } from '../cards/card-service.js';
import type { IssuerAdapter } from '../issuer/issuer-adapter.js';
import type { LockoutGuard } from '../lockout/lockout-guard.js';
import type { CardCheckSubject } from '../lockout/lockout.js';
import {
  finishCharge,
  isSameCharge,
  refundExceedsCharge,
  refundable,
  type Charge,
  type ChargeCommand,
  type ChargeOutcome,
  type ChargeRefund,
  type RefundCommand,
} from './charge.js';
import type { ChargeStore } from './charge-store.js';

/** A charge as answered, and whether it existed before this request. */
export interface ChargeAnswer {
  charge: Charge;
  replayed: boolean;
}

export interface ChargeService {
  /**
   * Pulls money from a bank account or a card, at most once per charge id: a repeat answers the
   * stored charge (a PENDING one is asked about again first). Card charges pass the lockout
   * first. A refusal by the bank or issuer is a DECLINED charge; no answer in time is PENDING.
   */
  createCharge(command: ChargeCommand): Promise<ChargeAnswer>;
  /** A charge by id; a PENDING one is asked about again (same key) before answering. */
  getCharge(chargeId: string): Promise<Charge>;
  /** Returns money of an approved charge to its source, at most once per refund id. */
  refundCharge(command: RefundCommand): Promise<ChargeAnswer>;
}

export interface ChargeServiceDeps {
  db: Pick<Db, 'transaction'>;
  store: ChargeStore;
  bankAccounts: BankAccountService;
  cards: CardService;
  /** Every bank behind its policy. */
  banks: BankDirectory;
  /** The issuer behind its policy. */
  issuer: IssuerAdapter;
  lockout: LockoutGuard;
  now: () => Date;
  logger: Logger;
}

/** A charge's source as loaded for a call to its bank or issuer. */
type LoadedSource =
  { kind: 'bank_account'; bankCode: string; accountNumber: string } | { kind: 'card'; card: Card };

const subjectOf = (charge: Charge, card: Card): CardCheckSubject => ({
  userId: charge.userId,
  fingerprint: card.fingerprint,
  clientIp: charge.clientIp,
});

export function createChargeService(deps: ChargeServiceDeps): ChargeService {
  const logger = deps.logger.child({ component: 'charges' });
  const { store } = deps;

  /** The source of a stored charge. Sources are never deleted, so a miss is a bug. */
  async function loadSource(charge: Charge): Promise<LoadedSource> {
    if (charge.source.kind === 'card') {
      return { kind: 'card', card: await deps.cards.get(charge.source.cardId) };
    }
    const account = await deps.bankAccounts.get(charge.source.bankAccountId);
    return { kind: 'bank_account', bankCode: account.bankCode, accountNumber: account.accountNumber };
  }

  /** Asks the bank or issuer, with the charge id as the idempotency key; undefined when no answer came. */
  async function ask(charge: Charge, source: LoadedSource): Promise<ChargeOutcome | undefined> {
    // Outside the try: a vault that cannot open the card is a bug to surface, not a slow issuer.
    const pan = source.kind === 'card' ? await deps.cards.revealPan(source.card) : '';
    try {
      if (source.kind === 'bank_account') {
        const answer = await deps.banks.bank(source.bankCode).debit({
          idempotencyKey: charge.chargeId,
          bankCode: source.bankCode,
          accountNumber: source.accountNumber,
          amount: charge.amount,
          currency: charge.currency,
        });
        return answer.outcome === 'approved'
          ? { status: 'APPROVED', authorizationCode: answer.reference }
          : { status: 'DECLINED', declineReason: 'BANK_DECLINED' };
      }
      const { card } = source;
      const answer = await deps.issuer.authorize({
        idempotencyKey: charge.chargeId,
        pan,
        expMonth: card.expMonth,
        expYear: card.expYear,
        amount: charge.amount,
        currency: charge.currency,
      });
      if (answer.outcome === 'approved')
        return { status: 'APPROVED', authorizationCode: answer.authorizationCode };
      return {
        status: 'DECLINED',
        declineReason: answer.reason === 'card_expired' ? 'CARD_EXPIRED' : 'CARD_DECLINED',
      };
    } catch (error) {
      logger.warn(
        { err: error, chargeId: charge.chargeId, source: source.kind },
        'no answer from the bank or issuer; the charge stays PENDING',
      );
      return undefined;
    }
  }

  /** Drives a PENDING charge to its outcome when the bank or issuer answers; else answers it PENDING. */
  async function settle(charge: Charge, source?: LoadedSource): Promise<Charge> {
    if (charge.status !== 'PENDING') return charge;
    const loaded = source ?? (await loadSource(charge));
    const outcome = await ask(charge, loaded);
    if (outcome === undefined) return charge;
    const finished = finishCharge(charge, outcome, deps.now());
    if (!(await store.finish(finished))) {
      // A concurrent request with the same key finished it first (with the same answer, since
      // the bank remembers the key): answer what it wrote.
      return (await store.find(charge.chargeId)) ?? finished;
    }
    logger.info(
      {
        chargeId: finished.chargeId,
        status: finished.status,
        declineReason: finished.declineReason,
        amount: finished.amount,
        source: loaded.kind,
        purpose: finished.purpose,
      },
      'charge finished',
    );
    if (loaded.kind === 'card' && finished.status === 'DECLINED') {
      await deps.lockout.recordFailure(
        subjectOf(finished, loaded.card),
        finished.declineReason === 'CARD_EXPIRED' ? 'EXPIRED' : 'DECLINED',
      );
    }
    return finished;
  }

  /** A repeat of a charge id: the stored charge, if the request is the same one. */
  async function replay(existing: Charge, command: ChargeCommand): Promise<ChargeAnswer> {
    if (!isSameCharge(existing, command)) {
      throw new BankError('idempotency_key_reused', 'this charge id was used for another charge', {
        chargeId: command.chargeId,
      });
    }
    return { charge: await settle(existing), replayed: true };
  }

  /** The source of a new charge, which the user must own (`not_found` otherwise). */
  async function ownedSource(command: ChargeCommand): Promise<LoadedSource> {
    if (command.source.kind === 'card') {
      const card = await deps.cards.findOwned(command.source.cardId, command.userId);
      if (card === undefined) throw notFound('card');
      return { kind: 'card', card };
    }
    const account = await deps.bankAccounts.findOwned(command.source.bankAccountId, command.userId);
    if (account === undefined) throw notFound('bank account');
    return { kind: 'bank_account', bankCode: account.bankCode, accountNumber: account.accountNumber };
  }

  /** Sends a PENDING refund (the refund id is the key) and records the confirmation. */
  async function sendRefund(refund: ChargeRefund, charge: Charge): Promise<void> {
    if (refund.status !== 'PENDING') return;
    const source = await loadSource(charge);
    let reference: string;
    try {
      if (source.kind === 'bank_account') {
        ({ reference } = await deps.banks.bank(source.bankCode).refund({
          idempotencyKey: refund.refundId,
          bankCode: source.bankCode,
          accountNumber: source.accountNumber,
          debitReference: charge.authorizationCode ?? '',
          amount: refund.amount,
          currency: charge.currency,
        }));
      } else {
        ({ reference } = await deps.issuer.refund({
          idempotencyKey: refund.refundId,
          authorizationCode: charge.authorizationCode ?? '',
          amount: refund.amount,
          currency: charge.currency,
        }));
      }
    } catch (error) {
      logger.warn({ err: error, refundId: refund.refundId }, 'no answer to a refund; it stays PENDING');
      throw serviceUnavailable(source.kind === 'card' ? 'the card issuer' : 'the bank', error);
    }
    await store.completeRefund(refund.refundId, reference, deps.now());
    logger.info(
      { refundId: refund.refundId, chargeId: charge.chargeId, amount: refund.amount },
      'refund completed',
    );
  }

  /** A repeat of a refund id: sent again if still PENDING, then the charge. */
  async function replayRefund(existing: ChargeRefund, command: RefundCommand): Promise<ChargeAnswer> {
    if (existing.chargeId !== command.chargeId || existing.amount !== command.amount) {
      throw new BankError('idempotency_key_reused', 'this refund id was used for another refund', {
        refundId: command.refundId,
      });
    }
    const charge = await store.find(existing.chargeId);
    if (charge === undefined) throw new Error(`refund ${existing.refundId} of a charge that is not stored`);
    await sendRefund(existing, charge);
    return { charge, replayed: true };
  }

  return {
    async createCharge(command) {
      const existing = await store.find(command.chargeId);
      if (existing !== undefined) return replay(existing, command);

      const source = await ownedSource(command);
      if (source.kind === 'card') {
        await deps.lockout.assertMayTry({
          userId: command.userId,
          fingerprint: source.card.fingerprint,
          clientIp: command.clientIp,
        });
      }
      const charge: Charge = {
        ...command,
        status: 'PENDING',
        declineReason: null,
        authorizationCode: null,
        refundedAmount: 0,
        createdAt: deps.now(),
        finishedAt: null,
      };
      if (!(await store.insert(charge))) {
        const raced = await store.find(command.chargeId);
        if (raced === undefined) throw new Error('a charge insert conflicted with a row that cannot be read');
        return replay(raced, command);
      }
      return { charge: await settle(charge, source), replayed: false };
    },

    async getCharge(chargeId) {
      const charge = chargeId === '' ? undefined : await store.find(chargeId);
      if (charge === undefined) throw notFound('charge');
      return settle(charge);
    },

    async refundCharge(command) {
      const existing = await store.findRefund(command.refundId);
      if (existing !== undefined) return replayRefund(existing, command);

      const found = await store.find(command.chargeId);
      if (found === undefined) throw notFound('charge');
      const charge = await settle(found);
      if (charge.status === 'PENDING') {
        throw serviceUnavailable(charge.source.kind === 'card' ? 'the card issuer' : 'the bank');
      }

      const now = deps.now();
      const refund: ChargeRefund = {
        refundId: command.refundId,
        chargeId: command.chargeId,
        amount: command.amount,
        status: 'PENDING',
        reference: null,
        createdAt: now,
        finishedAt: null,
      };
      // Under the charge's row lock: one refund id at a time, and the sum stays within the charge.
      const reserved = await deps.db.transaction(
        async (conn) => {
          const locked = await store.lockCharge(conn, command.chargeId);
          if (locked === undefined) throw notFound('charge');
          const raced = await store.findRefund(command.refundId, conn);
          if (raced !== undefined) return { kind: 'raced' as const, refund: raced };
          if (command.amount > refundable(locked)) throw refundExceedsCharge(locked);
          await store.insertRefund(conn, refund);
          return {
            kind: 'reserved' as const,
            charge: { ...locked, refundedAmount: locked.refundedAmount + refund.amount },
          };
        },
        { label: 'charge.refund' },
      );
      if (reserved.kind === 'raced') return replayRefund(reserved.refund, command);
      await sendRefund(refund, reserved.charge);
      return { charge: reserved.charge, replayed: false };
    },
  };
}
