import { z } from 'zod';
import type { LedgerClient } from '../downstream-clients.js';
import type { HttpApp } from '../http/app.js';
import { ownMerchant, ownUser, type AccessControl } from '../http/authentication.js';
import { isDependencyFailure } from '../http/error-status.js';
import { handler } from '../http/request-scope.js';
import { parseOrReject } from '../http/validation.js';
import {
  balanceFigure,
  merchantBalanceView,
  transactionItem,
  transactionsQuery,
  userBalanceView,
  type BalanceFigure,
} from './account.js';
import type { BalanceCache } from './balance-cache.js';

export interface AccountRoutesDeps {
  access: AccessControl;
  /** Balance reads, through the gateway→ledger (balance) policy. */
  ledger: Pick<LedgerClient, 'getBalances'>;
  /** Statements, through the gateway→ledger-accounts policy. */
  ledgerAccounts: Pick<LedgerClient, 'listEntries'>;
  balanceCache: BalanceCache;
}

const userPath = z.object({ userId: z.string().min(1) });
const merchantPath = z.object({ merchantId: z.string().min(1) });

/** Balances and history: the gateway→ledger hop, with the cached-balance fallback. */
export function registerAccountRoutes(app: HttpApp, deps: AccountRoutesDeps): void {
  /**
   * The balances of `accountIds` from the ledger, kept for the fallback; when the ledger cannot
   * answer, the last kept figures with `stale: true` — or the failure (→ 503) if any is missing.
   */
  async function readBalances(accountIds: string[]): Promise<{ figures: BalanceFigure[]; stale: boolean }> {
    try {
      const { balances } = await deps.ledger.getBalances({ accountIds });
      const figures = balances.map((balance) => balanceFigure(balance));
      void deps.balanceCache.remember(figures);
      return { figures, stale: false };
    } catch (error) {
      if (!isDependencyFailure(error)) throw error;
      const cached = await deps.balanceCache.recall(accountIds);
      const figures = cached.filter((figure): figure is BalanceFigure => figure !== undefined);
      if (figures.length !== accountIds.length) throw error;
      return { figures, stale: true };
    }
  }

  app.get(
    '/v1/users/:userId/balance',
    { onRequest: deps.access.require('user') },
    handler(async (request) => {
      const user = ownUser(request, parseOrReject(userPath, request.params).userId);
      const { figures, stale } = await readBalances([user.walletAccountId, user.pointsAccountId]);
      const [wallet, points] = figures;
      if (!wallet || !points) throw new Error('ledger GetBalances answered fewer balances than asked');
      return { status: 200, body: userBalanceView(wallet, points, stale) };
    }),
  );

  app.get(
    '/v1/users/:userId/transactions',
    { onRequest: deps.access.require('user') },
    handler(async (request) => {
      const user = ownUser(request, parseOrReject(userPath, request.params).userId);
      const query = parseOrReject(transactionsQuery, request.query);
      const page = await deps.ledgerAccounts.listEntries({
        accountId: user.walletAccountId,
        pageSize: query.limit,
        pageToken: query.cursor ?? '',
      });
      return {
        status: 200,
        body: {
          items: page.entries.map(transactionItem),
          nextCursor: page.nextPageToken === '' ? null : page.nextPageToken,
        },
      };
    }),
  );

  app.get(
    '/v1/merchants/:merchantId/balance',
    { onRequest: deps.access.require('merchant') },
    handler(async (request) => {
      const merchant = ownMerchant(request, parseOrReject(merchantPath, request.params).merchantId);
      const { figures, stale } = await readBalances([merchant.accountId]);
      const [account] = figures;
      if (!account) throw new Error('ledger GetBalances answered no balance');
      return { status: 200, body: merchantBalanceView(account, stale) };
    }),
  );
}
