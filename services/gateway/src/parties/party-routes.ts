import type { HttpApp } from '../http/app.js';
import { handler } from '../http/request-scope.js';
import { parseOrReject } from '../http/validation.js';
import { createMerchantInput, createUserInput } from './party.js';
import type { PartyService } from './party-service.js';

export interface PartyRoutesDeps {
  parties: PartyService;
}

/** `POST /v1/users` and `POST /v1/merchants`: sign-up, no authentication. */
export function registerPartyRoutes(app: HttpApp, deps: PartyRoutesDeps): void {
  app.post(
    '/v1/users',
    handler(async (request) => {
      const input = parseOrReject(createUserInput, request.body);
      const { user, token } = await deps.parties.createUser(input);
      return {
        status: 201,
        body: {
          userId: user.userId,
          token,
          walletAccountId: user.walletAccountId,
          pointsAccountId: user.pointsAccountId,
          displayName: user.displayName,
        },
      };
    }),
  );

  app.post(
    '/v1/merchants',
    handler(async (request) => {
      const input = parseOrReject(createMerchantInput, request.body);
      const { merchant, apiKey } = await deps.parties.createMerchant(input);
      return {
        status: 201,
        body: {
          merchantId: merchant.merchantId,
          apiKey,
          accountId: merchant.accountId,
          name: merchant.name,
          ...(merchant.mcc ? { mcc: merchant.mcc } : {}),
        },
      };
    }),
  );
}
