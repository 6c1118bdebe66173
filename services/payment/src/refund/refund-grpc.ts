import { PAYMENT_ID_ATTRIBUTE, tagActiveSpan, toTimestamp } from '@koban/platform';
import { callerOf, messageCodec, traceOf, type PaymentHandlers, type RpcResponse } from '../rpc.js';
import { checkRefundRequest, type Refund } from './refund.js';
import type { RefundService } from './refund-service.js';

type CreateRefundResponse = RpcResponse<'CreateRefund'>;
type RefundMessage = NonNullable<CreateRefundResponse['refund']>;

const responses = messageCodec<CreateRefundResponse>('koban.payment.v1.CreateRefundResponse');

export function refundToProto(refund: Refund): RefundMessage {
  return {
    refundId: refund.refundId,
    paymentId: refund.paymentId,
    status: `REFUND_STATUS_${refund.status}`,
    amount: String(refund.amount),
    currency: refund.currency,
    clawedBackPoints: String(refund.clawedBackPoints),
    createdAt: toTimestamp(refund.createdAt),
  };
}

/** The response stored under the idempotency key, as the first request answered it. */
export function encodeCreateRefundResponse(refund: Refund): Buffer {
  return responses.encode({ refund: refundToProto(refund), replayed: false });
}

export function refundHandlers(service: RefundService): Pick<PaymentHandlers, 'CreateRefund' | 'GetRefund'> {
  return {
    async CreateRefund(request, call) {
      const command = checkRefundRequest({
        idempotencyKey: request.idempotencyKey,
        callerId: request.callerId,
        paymentId: request.paymentId,
        amount: request.amount,
        trace: traceOf(call),
      });
      // The refund's trace is found by the payment it refunds (`pnpm trace <paymentId>`).
      tagActiveSpan({ [PAYMENT_ID_ATTRIBUTE]: command.paymentId });
      const outcome = await service.createRefund(command);
      return outcome.replayed
        ? { ...responses.decode(outcome.response), replayed: true }
        : { refund: refundToProto(outcome.value), replayed: false };
    },

    async GetRefund(request, call) {
      const refund = await service.getRefund(request.refundId, callerOf(call));
      tagActiveSpan({ [PAYMENT_ID_ATTRIBUTE]: refund.paymentId });
      return { refund: refundToProto(refund) };
    },
  };
}
