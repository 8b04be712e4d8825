/**
 * What gateways tell the sequencer on one channel, in the order they happen:
 * a user joined or left the gateway, the gateway got through a batch (and is alive),
 * or the gateway is going away.
 */
export type GatewayEvent =
  | { readonly kind: 'join' | 'leave'; readonly gatewayId: string; readonly userId: number }
  | { readonly kind: 'ack'; readonly gatewayId: string; readonly batchSeq: number }
  | { readonly kind: 'gone'; readonly gatewayId: string };

export function encodeGatewayEvent(event: GatewayEvent): string {
  switch (event.kind) {
    case 'join':
    case 'leave':
      return `${event.kind} ${event.gatewayId} ${event.userId}`;
    case 'ack':
      return `ack ${event.gatewayId} ${event.batchSeq}`;
    case 'gone':
      return `gone ${event.gatewayId}`;
  }
}

export function decodeGatewayEvent(message: string): GatewayEvent | undefined {
  const [kind, gatewayId, number] = message.split(' ');
  if (!gatewayId) return undefined;
  const value = Number(number);
  switch (kind) {
    case 'join':
    case 'leave':
      return Number.isSafeInteger(value) ? { kind, gatewayId, userId: value } : undefined;
    case 'ack':
      return Number.isSafeInteger(value) ? { kind, gatewayId, batchSeq: value } : undefined;
    case 'gone':
      return { kind, gatewayId };
    default:
      return undefined;
  }
}
