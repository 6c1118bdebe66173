import { toTimestamp } from '@koban/platform';
import type { PaymentHandlers, RpcResponse } from '../rpc.js';
import { checkCreateQrCode, type QrCode } from './qr-code.js';
import type { QrCodeService } from './qr-code-service.js';

type QrCodeMessage = NonNullable<RpcResponse<'CreateQrCode'>['qrCode']>;

export function qrCodeToProto(code: QrCode): QrCodeMessage {
  return {
    qrCodeId: code.qrCodeId,
    merchantId: code.merchantId,
    payload: code.payload,
    amount: String(code.amount),
    currency: code.currency,
    createdAt: toTimestamp(code.createdAt),
  };
}

export function qrCodeHandlers(service: QrCodeService): Pick<PaymentHandlers, 'CreateQrCode'> {
  return {
    async CreateQrCode(request) {
      const command = checkCreateQrCode({
        merchantId: request.merchantId,
        amount: request.amount,
        currency: request.currency,
      });
      return { qrCode: qrCodeToProto(await service.createQrCode(command)) };
    },
  };
}
