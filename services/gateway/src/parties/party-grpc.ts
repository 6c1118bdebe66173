import * as grpc from '@grpc/grpc-js';
import type { z } from 'zod';
import { DomainError, toTimestamp, type ServiceHandlers } from '@koban/platform';
import type { PartyServiceDefinition } from '../downstream-clients.js';
import {
  createMerchantInput,
  createUserInput,
  type Merchant,
  type PartyErrorCode,
  type User,
} from './party.js';
import type { PartyService } from './party-service.js';

/** Each party domain error and the gRPC status it is answered with (proto/README.md). */
export const partyErrorStatus: Readonly<Record<PartyErrorCode, grpc.status>> = {
  invalid_request: grpc.status.INVALID_ARGUMENT,
  not_found: grpc.status.NOT_FOUND,
  unauthenticated: grpc.status.UNAUTHENTICATED,
};

const userMessage = (user: User) => ({
  userId: user.userId,
  displayName: user.displayName,
  walletAccountId: user.walletAccountId,
  pointsAccountId: user.pointsAccountId,
  createdAt: toTimestamp(user.createdAt),
});

const merchantMessage = (merchant: Merchant) => ({
  merchantId: merchant.merchantId,
  name: merchant.name,
  mcc: merchant.mcc,
  accountId: merchant.accountId,
  createdAt: toTimestamp(merchant.createdAt),
});

function parseInput<Schema extends z.ZodType>(schema: Schema, value: unknown): z.output<Schema> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const fields = Object.fromEntries(
    result.error.issues.map((issue) => [issue.path.join('.'), issue.message]),
  );
  throw new DomainError<PartyErrorCode>('invalid_request', 'invalid request', { fields });
}

function requireId(field: string, value: string): string {
  if (value.length === 0) {
    throw new DomainError<PartyErrorCode>('invalid_request', `${field} is required`, {
      fields: { [field]: 'is required' },
    });
  }
  return value;
}

/** PartyService over gRPC: the same use cases as the HTTP routes, for tooling and other services. */
export function partyGrpcHandlers(parties: PartyService): ServiceHandlers<PartyServiceDefinition> {
  return {
    async CreateUser(request) {
      const { user, token } = await parties.createUser(
        parseInput(createUserInput, { displayName: request.displayName }),
      );
      return { user: userMessage(user), token };
    },
    async CreateMerchant(request) {
      const input = parseInput(createMerchantInput, {
        name: request.name,
        ...(request.mcc === '' ? {} : { mcc: request.mcc }),
      });
      const { merchant, apiKey } = await parties.createMerchant(input);
      return { merchant: merchantMessage(merchant), apiKey };
    },
    async GetUser(request) {
      return { user: userMessage(await parties.getUser(requireId('user_id', request.userId))) };
    },
    async GetMerchant(request) {
      return {
        merchant: merchantMessage(await parties.getMerchant(requireId('merchant_id', request.merchantId))),
      };
    },
    async Authenticate(request) {
      const party = await parties.authenticate(request.token);
      return party.kind === 'user'
        ? { user: userMessage(party.user) }
        : { merchant: merchantMessage(party.merchant) };
    },
  };
}
