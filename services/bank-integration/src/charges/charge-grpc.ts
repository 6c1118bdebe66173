import { toTimestamp } from '@koban/platform';
import type { BankIntegrationHandlers, RpcRequest, RpcResponse } from '../rpc.js';
import {
  checkChargeCommand,
  checkRefundCommand,
  type Charge,
  type ChargePurpose,
  type ChargeSource,
} from './charge.js';
import type { ChargeService } from './charge-service.js';

type ChargeMessage = NonNullable<RpcResponse<'GetCharge'>['charge']>;
type CreateChargeRequest = RpcRequest<'CreateCharge'>;

export function chargeToProto(charge: Charge): ChargeMessage {
  return {
    chargeId: charge.chargeId,
    status: `CHARGE_STATUS_${charge.status}`,
    declineReason:
      charge.declineReason === null
        ? 'CHARGE_DECLINE_REASON_UNSPECIFIED'
        : `CHARGE_DECLINE_REASON_${charge.declineReason}`,
    userId: charge.userId,
    amount: String(charge.amount),
    currency: charge.currency,
    // One member of the `source` oneof only: setting both would send both.
    ...(charge.source.kind === 'card'
      ? { cardId: charge.source.cardId }
      : { bankAccountId: charge.source.bankAccountId }),
    purpose: `CHARGE_PURPOSE_${charge.purpose}`,
    authorizationCode: charge.authorizationCode ?? '',
    refundedAmount: String(charge.refundedAmount),
    createdAt: toTimestamp(charge.createdAt),
  };
}

function sourceOf(request: CreateChargeRequest): ChargeSource | undefined {
  if (request.source === 'cardId') return { kind: 'card', cardId: request.cardId ?? '' };
  if (request.source === 'bankAccountId') {
    return { kind: 'bank_account', bankAccountId: request.bankAccountId ?? '' };
  }
  return undefined;
}

const purposes: Readonly<Record<CreateChargeRequest['purpose'], ChargePurpose | undefined>> = {
  CHARGE_PURPOSE_UNSPECIFIED: undefined,
  CHARGE_PURPOSE_TOPUP: 'TOPUP',
  CHARGE_PURPOSE_PAYMENT: 'PAYMENT',
};

export function chargeHandlers(
  service: ChargeService,
): Pick<BankIntegrationHandlers, 'CreateCharge' | 'GetCharge' | 'RefundCharge'> {
  return {
    async CreateCharge(request) {
      const command = checkChargeCommand({
        chargeId: request.chargeId,
        userId: request.userId,
        amount: request.amount,
        currency: request.currency,
        source: sourceOf(request),
        purpose: purposes[request.purpose],
        clientIp: request.clientIp,
      });
      const { charge, replayed } = await service.createCharge(command);
      return { charge: chargeToProto(charge), replayed };
    },
    async GetCharge(request) {
      return { charge: chargeToProto(await service.getCharge(request.chargeId)) };
    },
    async RefundCharge(request) {
      const command = checkRefundCommand({
        refundId: request.refundId,
        chargeId: request.chargeId,
        amount: request.amount,
      });
      const { charge, replayed } = await service.refundCharge(command);
      return { charge: chargeToProto(charge), replayed };
    },
  };
}
