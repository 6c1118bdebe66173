import type { DependencyPolicy } from '@koban/platform';
import type { IssuerAdapter } from './issuer-adapter.js';

/**
 * The issuer behind its resilience policy (timeout, breaker): every call, whatever the adapter,
 * is cut at the policy's timeout and counted by one breaker. Nothing is retried inline: a charge
 * whose answer did not come stays PENDING and is asked about again with its key.
 */
export function guardIssuer(issuer: IssuerAdapter, policy: DependencyPolicy): IssuerAdapter {
  const once = { idempotent: false };
  return {
    verify: (request) => policy.execute(({ signal }) => issuer.verify(request, signal), once),
    authorize: (request) => policy.execute(({ signal }) => issuer.authorize(request, signal), once),
    refund: (request) => policy.execute(({ signal }) => issuer.refund(request, signal), once),
  };
}
