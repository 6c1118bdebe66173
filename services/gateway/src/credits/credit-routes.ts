import { DomainError } from '@koban/platform';
import type { LedgerClient } from '../downstream-clients.js';
import type { HttpApp } from '../http/app.js';
import type { AccessControl } from '../http/authentication.js';
import { apiError } from '../http/error-status.js';
import { handler } from '../http/request-scope.js';
import { checkMoney, idempotencyKeyOf, parseOrReject, requireIdempotencyKey } from '../http/validation.js';
import type { PartyService } from '../parties/party-service.js';
import { creditBody, creditTransferId, fundingAccount } from './credit.js';

export interface CreditRoutesDeps {
  access: AccessControl;
  parties: Pick<PartyService, 'getUser'>;
  ledger: Pick<LedgerClient, 'openAccount' | 'transfer'>;
}

/**
 * `POST /v1/admin/credits` (admin token): the demo's way to fund a wallet until top-ups exist.
 * A ledger ADJUSTMENT from the system funding account, idempotent by a transfer id derived from
 * the `Idempotency-Key`.
 */
export function registerCreditRoutes(app: HttpApp, deps: CreditRoutesDeps): void {
  let fundingAccountId: string | undefined;

  async function fundingAccountIdOf(): Promise<string> {
    if (fundingAccountId === undefined) {
      // OpenAccount answers the existing account, so every replica resolves the same one.
      const { account } = await deps.ledger.openAccount(fundingAccount);
      if (!account?.accountId) throw new Error('ledger OpenAccount answered without the funding account');
      fundingAccountId = account.accountId;
    }
    return fundingAccountId;
  }

  app.post(
    '/v1/admin/credits',
    { onRequest: [deps.access.require('admin'), requireIdempotencyKey] },
    handler(async (request) => {
      const body = parseOrReject(creditBody, request.body);
      checkMoney(body);
      const user = await deps.parties.getUser(body.userId);
      const transferId = creditTransferId(idempotencyKeyOf(request.headers));
      let replayed: boolean;
      try {
        ({ replayed } = await deps.ledger.transfer({
          transferId,
          kind: 'TRANSFER_KIND_ADJUSTMENT',
          referenceId: transferId,
          postings: [
            {
              fromAccountId: await fundingAccountIdOf(),
              toAccountId: user.walletAccountId,
              amount: String(body.amount),
              currency: body.currency,
            },
          ],
          description: 'Credit',
        }));
      } catch (error) {
        if (error instanceof DomainError && error.code === 'transfer_id_reused') {
          throw apiError('idempotency_key_reused', 'this Idempotency-Key was used for another credit');
        }
        throw error;
      }
      return {
        status: 201,
        body: {
          creditId: transferId,
          userId: user.userId,
          amount: body.amount,
          currency: body.currency,
          status: 'COMPLETED',
        },
        headers: replayed ? { 'idempotent-replayed': 'true' } : {},
      };
    }),
  );
}
