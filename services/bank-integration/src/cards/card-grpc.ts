import { toTimestamp } from '@koban/platform';
import type { BankIntegrationHandlers, RpcResponse } from '../rpc.js';
import type { Card } from './card.js';
import type { CardService } from './card-service.js';

type CardMessage = NonNullable<RpcResponse<'GetCard'>['card']>;

/** A card as answers show it: brand, last four, expiry and fingerprint; never the number. */
export function cardToProto(card: Card): CardMessage {
  return {
    cardId: card.cardId,
    userId: card.userId,
    brand: `CARD_BRAND_${card.brand}`,
    last4: card.last4,
    expMonth: card.expMonth,
    expYear: card.expYear,
    fingerprint: card.fingerprint,
    createdAt: toTimestamp(card.createdAt),
  };
}

export function cardHandlers(
  service: CardService,
): Pick<BankIntegrationHandlers, 'RegisterCard' | 'GetCard' | 'ListCards'> {
  return {
    async RegisterCard(request) {
      const card = await service.register({
        userId: request.userId,
        number: request.number,
        expMonth: request.expMonth,
        expYear: request.expYear,
        cvc: request.cvc,
        clientIp: request.clientIp,
      });
      return { card: cardToProto(card) };
    },
    async GetCard(request) {
      return { card: cardToProto(await service.get(request.cardId)) };
    },
    async ListCards(request) {
      return { cards: (await service.list(request.userId)).map(cardToProto) };
    },
  };
}
