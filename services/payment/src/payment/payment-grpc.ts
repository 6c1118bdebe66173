import { PAYMENT_ID_ATTRIBUTE, tagActiveSpan, toTimestamp } from '@koban/platform';
import { invalidRequest } from '../payment-errors.js';
import {
  callerOf,
  messageCodec,
  traceOf,
  type PaymentHandlers,
  type RpcRequest,
  type RpcResponse,
} from '../rpc.js';
import { checkPaymentRequest, type Payment } from './payment.js';
import type { PaymentService } from './payment-service.js';

type CreatePaymentResponse = RpcResponse<'CreatePayment'>;
type PaymentMessage = NonNullable<CreatePaymentResponse['payment']>;

const responses = messageCodec<CreatePaymentResponse>('koban.payment.v1.CreatePaymentResponse');

export function paymentToProto(payment: Payment): PaymentMessage {
  return {
    paymentId: payment.paymentId,
    status: `PAYMENT_STATUS_${payment.status}`,
    payerUserId: payment.payerUserId,
    merchantId: payment.merchantId,
    amount: String(payment.amount),
    currency: payment.currency,
    method: payment.method === 'CARD' ? 'PAYMENT_METHOD_CARD' : 'PAYMENT_METHOD_WALLET',
    cardId: payment.card?.cardId ?? '',
    declineReason:
      payment.declineReason === null
        ? 'DECLINE_REASON_UNSPECIFIED'
        : `DECLINE_REASON_${payment.declineReason}`,
    cashback: {
      status: `CASHBACK_STATUS_${payment.cashback.status}`,
      points: String(payment.cashback.points),
      campaignId: payment.cashback.campaignId ?? '',
    },
    refundedAmount: String(payment.refundedAmount),
    qrCodeId: payment.qrCodeId ?? '',
    createdAt: toTimestamp(payment.createdAt),
    finishedAt: payment.finishedAt === null ? null : toTimestamp(payment.finishedAt),
  };
}

/** The response stored under the idempotency key, as the first request answered it. */
export function encodeCreatePaymentResponse(payment: Payment): Buffer {
  return responses.encode({ payment: paymentToProto(payment), replayed: false });
}

function methodOf(method: RpcRequest<'CreatePayment'>['method']): 'WALLET' | 'CARD' {
  if (method === 'PAYMENT_METHOD_CARD') return 'CARD';
  if (method === 'PAYMENT_METHOD_WALLET' || method === 'PAYMENT_METHOD_UNSPECIFIED') return 'WALLET';
  throw invalidRequest({ method: 'unknown payment method' });
}

export function paymentHandlers(
  service: PaymentService,
): Pick<PaymentHandlers, 'CreatePayment' | 'GetPayment'> {
  return {
    async CreatePayment(request, call) {
      const command = checkPaymentRequest({
        idempotencyKey: request.idempotencyKey,
        callerId: request.callerId,
        payerUserId: request.payerUserId,
        qrPayload: request.payee === 'qrPayload' ? request.qrPayload : undefined,
        merchantId: request.payee === 'merchantId' ? request.merchantId : undefined,
        amount: request.amount,
        currency: request.currency,
        method: methodOf(request.method),
        cardId: request.cardId,
        clientIp: request.clientIp,
        trace: traceOf(call),
      });
      const outcome = await service.createPayment(command);
      const response = outcome.replayed
        ? { ...responses.decode(outcome.response), replayed: true }
        : { payment: paymentToProto(outcome.value), replayed: false };
      // A replay's span is tagged too: it is the payment's, answered again.
      if (response.payment) tagActiveSpan({ [PAYMENT_ID_ATTRIBUTE]: response.payment.paymentId });
      return response;
    },

    async GetPayment(request, call) {
      return { payment: paymentToProto(await service.getPayment(request.paymentId, callerOf(call))) };
    },
  };
}
