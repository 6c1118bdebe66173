import { toTimestamp } from '@koban/platform';
import { callerOf, messageCodec, traceOf, type PaymentHandlers, type RpcResponse } from '../rpc.js';
import { checkTopupRequest, type Topup } from './topup.js';
import type { TopupService } from './topup-service.js';

type CreateTopupResponse = RpcResponse<'CreateTopup'>;
type TopupMessage = NonNullable<CreateTopupResponse['topup']>;

const responses = messageCodec<CreateTopupResponse>('koban.payment.v1.CreateTopupResponse');

export function topupToProto(topup: Topup): TopupMessage {
  return {
    topupId: topup.topupId,
    status: `TOPUP_STATUS_${topup.status}`,
    userId: topup.userId,
    amount: String(topup.amount),
    currency: topup.currency,
    ...(topup.source.kind === 'card'
      ? { source: 'cardId' as const, cardId: topup.source.cardId }
      : { source: 'bankAccountId' as const, bankAccountId: topup.source.bankAccountId }),
    failureReason:
      topup.failureReason === null
        ? 'TOPUP_FAILURE_REASON_UNSPECIFIED'
        : `TOPUP_FAILURE_REASON_${topup.failureReason}`,
    createdAt: toTimestamp(topup.createdAt),
    finishedAt: topup.finishedAt === null ? null : toTimestamp(topup.finishedAt),
  };
}

/** The response stored under the idempotency key: the first answer, PROCESSING or final. */
export function encodeCreateTopupResponse(topup: Topup): Buffer {
  return responses.encode({ topup: topupToProto(topup), replayed: false });
}

export function topupHandlers(service: TopupService): Pick<PaymentHandlers, 'CreateTopup' | 'GetTopup'> {
  return {
    async CreateTopup(request, call) {
      const command = checkTopupRequest({
        idempotencyKey: request.idempotencyKey,
        callerId: request.callerId,
        userId: request.userId,
        amount: request.amount,
        currency: request.currency,
        bankAccountId: request.source === 'bankAccountId' ? request.bankAccountId : undefined,
        cardId: request.source === 'cardId' ? request.cardId : undefined,
        clientIp: request.clientIp,
        trace: traceOf(call),
      });
      const outcome = await service.createTopup(command);
      return outcome.replayed
        ? { ...responses.decode(outcome.response), replayed: true }
        : { topup: topupToProto(outcome.value), replayed: false };
    },

    async GetTopup(request, call) {
      return { topup: topupToProto(await service.getTopup(request.topupId, callerOf(call))) };
    },
  };
}
