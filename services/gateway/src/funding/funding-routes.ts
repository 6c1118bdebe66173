import { z } from 'zod';
import type { BankIntegrationClient, PaymentClient } from '../downstream-clients.js';
import type { HttpApp } from '../http/app.js';
import { callerUser, notFound, ownUser, type AccessControl } from '../http/authentication.js';
import { handler } from '../http/request-scope.js';
import { checkMoney, idempotencyKeyOf, parseOrReject, requireIdempotencyKey } from '../http/validation.js';
import {
  bankAccountBody,
  bankAccountView,
  cardBody,
  cardView,
  topupBody,
  topupOutcome,
  topupView,
} from './funding.js';

export interface FundingRoutesDeps {
  access: AccessControl;
  bankIntegration: Pick<BankIntegrationClient, 'linkBankAccount' | 'registerCard'>;
  payment: Pick<PaymentClient, 'createTopup' | 'getTopup'>;
}

const userPath = z.object({ userId: z.string().min(1) });
const topupPath = z.object({ topupId: z.string().min(1) });

function present<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`a downstream answered without ${what}`);
  return value;
}

/**
 * Funding a wallet: linking bank accounts and registering cards (→ bank-integration), top-ups
 * (→ payment, which charges the source through bank-integration and owns idempotency).
 *
 * Card numbers and CVCs pass through `POST /v1/users/{userId}/cards` to bank-integration and go
 * nowhere else: not into a response, an error's details, a log line or a span attribute.
 */
export function registerFundingRoutes(app: HttpApp, deps: FundingRoutesDeps): void {
  app.post(
    '/v1/users/:userId/bank-accounts',
    { onRequest: deps.access.require('user') },
    handler(async (request) => {
      const user = ownUser(request, parseOrReject(userPath, request.params).userId);
      const body = parseOrReject(bankAccountBody, request.body);
      const { bankAccount } = await deps.bankIntegration.linkBankAccount({
        userId: user.userId,
        bankCode: body.bankCode,
        accountNumber: body.accountNumber,
      });
      return { status: 201, body: bankAccountView(present(bankAccount, 'a bank account')) };
    }),
  );

  app.post(
    '/v1/users/:userId/cards',
    { onRequest: deps.access.require('user') },
    handler(async (request) => {
      const user = ownUser(request, parseOrReject(userPath, request.params).userId);
      const body = parseOrReject(cardBody, request.body);
      const { card } = await deps.bankIntegration.registerCard({
        userId: user.userId,
        number: body.number,
        expMonth: body.expMonth,
        expYear: body.expYear,
        cvc: body.cvc,
        clientIp: request.ip,
      });
      return { status: 201, body: cardView(present(card, 'a card')) };
    }),
  );

  app.post(
    '/v1/topups',
    { onRequest: [deps.access.require('user'), requireIdempotencyKey] },
    handler(async (request) => {
      const body = parseOrReject(topupBody, request.body);
      const user = ownUser(request, body.userId);
      checkMoney(body);
      const response = await deps.payment.createTopup({
        idempotencyKey: idempotencyKeyOf(request.headers),
        callerId: user.userId,
        userId: user.userId,
        amount: String(body.amount),
        currency: body.currency,
        ...(body.source.cardId !== undefined
          ? { cardId: body.source.cardId }
          : { bankAccountId: body.source.bankAccountId ?? '' }),
        clientIp: request.ip,
      });
      return topupOutcome(present(response.topup, 'a top-up'), response.replayed);
    }),
  );

  app.get(
    '/v1/topups/:topupId',
    { onRequest: deps.access.require('user') },
    handler(async (request) => {
      const { topupId } = parseOrReject(topupPath, request.params);
      const { topup } = await deps.payment.getTopup({ topupId });
      const found = present(topup, 'a top-up');
      if (found.userId !== callerUser(request).userId) throw notFound('top-up');
      return { status: 200, body: topupView(found) };
    }),
  );
}
