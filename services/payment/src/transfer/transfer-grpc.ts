import { toTimestamp } from '@koban/platform';
import { callerOf, messageCodec, traceOf, type PaymentHandlers, type RpcResponse } from '../rpc.js';
import { checkTransferRequest, type PeerTransfer } from './transfer.js';
import type { TransferService } from './transfer-service.js';

type CreateTransferResponse = RpcResponse<'CreateTransfer'>;
type TransferMessage = NonNullable<CreateTransferResponse['transfer']>;

const responses = messageCodec<CreateTransferResponse>('koban.payment.v1.CreateTransferResponse');

export function transferToProto(transfer: PeerTransfer): TransferMessage {
  return {
    transferId: transfer.transferId,
    status: `TRANSFER_STATUS_${transfer.status}`,
    fromUserId: transfer.fromUserId,
    toUserId: transfer.toUserId,
    amount: String(transfer.amount),
    currency: transfer.currency,
    message: transfer.message,
    declineReason:
      transfer.declineReason === null
        ? 'DECLINE_REASON_UNSPECIFIED'
        : `DECLINE_REASON_${transfer.declineReason}`,
    createdAt: toTimestamp(transfer.createdAt),
    finishedAt: transfer.finishedAt === null ? null : toTimestamp(transfer.finishedAt),
  };
}

/** The response stored under the idempotency key, as the first request answered it. */
export function encodeCreateTransferResponse(transfer: PeerTransfer): Buffer {
  return responses.encode({ transfer: transferToProto(transfer), replayed: false });
}

export function transferHandlers(
  service: TransferService,
): Pick<PaymentHandlers, 'CreateTransfer' | 'GetTransfer'> {
  return {
    async CreateTransfer(request, call) {
      const command = checkTransferRequest({
        idempotencyKey: request.idempotencyKey,
        callerId: request.callerId,
        fromUserId: request.fromUserId,
        toUserId: request.toUserId,
        amount: request.amount,
        currency: request.currency,
        message: request.message,
        clientIp: request.clientIp,
        trace: traceOf(call),
      });
      const outcome = await service.createTransfer(command);
      return outcome.replayed
        ? { ...responses.decode(outcome.response), replayed: true }
        : { transfer: transferToProto(outcome.value), replayed: false };
    },

    async GetTransfer(request, call) {
      return { transfer: transferToProto(await service.getTransfer(request.transferId, callerOf(call))) };
    },
  };
}
