import { positiveInteger } from './event.ts';

/**
 * What gateways tell the sequencer on one channel, in the order they happen:
 * users joined or left the gateway, the gateway got through a batch (and is alive),
 * or the gateway is going away.
 *
 * A join or leave names a packed list of users (`join <gateway> 17,4,2932`): a gateway
 * announces the users of one turn of its event loop together, so a connect storm costs
 * a message per chunk of users, not one per user. A list of one is the form gateways sent
 * before, so their messages read the same.
 */
export type GatewayEvent =
  | { readonly kind: 'join' | 'leave'; readonly gatewayId: string; readonly userIds: readonly number[] }
  | { readonly kind: 'ack'; readonly gatewayId: string; readonly batchSeq: number }
  | { readonly kind: 'gone'; readonly gatewayId: string };

const USER_SEPARATOR = ',';

export function encodeGatewayEvent(event: GatewayEvent): string {
  switch (event.kind) {
    case 'join':
    case 'leave':
      return `${event.kind} ${event.gatewayId} ${event.userIds.join(USER_SEPARATOR)}`;
    case 'ack':
      return `ack ${event.gatewayId} ${event.batchSeq}`;
    case 'gone':
      return `gone ${event.gatewayId}`;
  }
}

/** Undefined for a message that is not one of these, or whose list holds anything but user ids. */
export function decodeGatewayEvent(message: string): GatewayEvent | undefined {
  const [kind, gatewayId, field] = message.split(' ');
  if (!gatewayId) return undefined;
  switch (kind) {
    case 'join':
    case 'leave': {
      const userIds = userIdsIn(field);
      return userIds ? { kind, gatewayId, userIds } : undefined;
    }
    case 'ack': {
      const batchSeq = Number(field);
      return Number.isSafeInteger(batchSeq) ? { kind, gatewayId, batchSeq } : undefined;
    }
    case 'gone':
      return { kind, gatewayId };
    default:
      return undefined;
  }
}

function userIdsIn(field: string | undefined): number[] | undefined {
  if (!field) return undefined;
  const userIds = field.split(USER_SEPARATOR).map(positiveInteger);
  return userIds.every((userId) => userId > 0) ? userIds : undefined;
}
