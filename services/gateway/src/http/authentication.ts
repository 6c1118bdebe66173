import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { DomainError } from '@koban/platform';
import { secretsEqual, type Merchant, type Party, type StoredParty, type User } from '../parties/party.js';
import { retryAfterSecondsOf, type RateLimiter } from '../rate-limits/rate-limit.js';
import type { ApiError } from './api-error.js';
import { apiError } from './error-status.js';
import { withinDeadline } from './request-scope.js';

export type PartyKind = Party['kind'];

export interface AccessControlDeps {
  /** ADMIN_TOKEN: compared in constant time, never looked up. */
  adminToken: string;
  /** Resolves a user token or merchant API key; rejects with DomainError `unauthenticated`. */
  authenticate(credential: string): Promise<StoredParty>;
  /** Per-token limits (API.md: `429 rate_limited` with `Retry-After`), keyed by the party's id. */
  rateLimiter: RateLimiter;
}

/** The access hooks of the routes. */
export interface AccessControl {
  /**
   * An `onRequest` hook (it runs before the body is read, so an unauthenticated request is a
   * 401 whatever its body): no or an unknown credential → `401 unauthenticated`; over the
   * token's rate limit → `429 rate_limited` with `Retry-After`; a valid one of another kind →
   * `404 not_found`, like any resource the caller may not see.
   */
  require(...kinds: PartyKind[]): onRequestAsyncHookHandler;
}

const bearer = /^Bearer[ ]+(\S+)[ ]*$/i;

export function unauthenticated(): ApiError {
  return apiError('unauthenticated', 'missing or invalid bearer credential');
}

/** `404 not_found`: the same answer for a resource that does not exist and one that is not yours. */
export function notFound(what = 'resource'): ApiError {
  return apiError('not_found', `${what} not found`);
}

/** Whose bucket a request takes its token from: one per user, merchant, or the admin. */
function rateLimitKeyOf(party: Party): string {
  if (party.kind === 'user') return party.user.userId;
  if (party.kind === 'merchant') return party.merchant.merchantId;
  return 'admin';
}

function rateLimited(retryAfterMs: number): ApiError {
  const retryAfterSeconds = retryAfterSecondsOf(retryAfterMs);
  return apiError(
    'rate_limited',
    'too many requests for this credential; slow down',
    { retryAfterSeconds },
    retryAfterSeconds,
  );
}

export function createAccessControl(deps: AccessControlDeps): AccessControl {
  async function identify(authorization: string | undefined): Promise<Party> {
    const credential = authorization === undefined ? undefined : bearer.exec(authorization)?.[1];
    if (credential === undefined) throw unauthenticated();
    if (secretsEqual(credential, deps.adminToken)) return { kind: 'admin' };
    try {
      return await deps.authenticate(credential);
    } catch (error) {
      if (error instanceof DomainError && error.code === 'unauthenticated') throw unauthenticated();
      throw error;
    }
  }

  return {
    require(...kinds) {
      const allowed = new Set(kinds);
      return async (request) => {
        const party = await withinDeadline(async () => {
          const identified = await identify(request.headers.authorization);
          const decision = await deps.rateLimiter.take(rateLimitKeyOf(identified));
          if (!decision.allowed) throw rateLimited(decision.retryAfterMs);
          return identified;
        }, request.deadline);
        if (!allowed.has(party.kind)) throw notFound();
        request.party = party;
      };
    },
  };
}

/** The authenticated user of a route that requires one. */
export function callerUser(request: FastifyRequest): User {
  if (request.party?.kind !== 'user') throw new Error('route reached without an authenticated user');
  return request.party.user;
}

/** The authenticated merchant of a route that requires one. */
export function callerMerchant(request: FastifyRequest): Merchant {
  if (request.party?.kind !== 'merchant') throw new Error('route reached without an authenticated merchant');
  return request.party.merchant;
}

/** The authenticated party of a route that requires one. */
export function callerParty(request: FastifyRequest): Party {
  if (request.party === undefined) throw new Error('route reached without an authenticated party');
  return request.party;
}

/** A user may only touch their own resources: anyone else's is `404 not_found`. */
export function ownUser(request: FastifyRequest, userId: string, what = 'user'): User {
  const user = callerUser(request);
  if (user.userId !== userId) throw notFound(what);
  return user;
}

/** A merchant may only touch its own resources: anyone else's is `404 not_found`. */
export function ownMerchant(request: FastifyRequest, merchantId: string): Merchant {
  const merchant = callerMerchant(request);
  if (merchant.merchantId !== merchantId) throw notFound('merchant');
  return merchant;
}
