import type { Histogram } from 'prom-client';
import type { CounterSpecs, ServiceMetrics } from '@follower-maze/shared';

export type GatewayCounter =
  | 'clientsConnected' | 'clientsRejected' | 'clientsRefused' | 'acceptErrors' | 'probes' | 'slowClientsDropped'
  | 'totalBufferDrops' | 'deliveries' | 'notificationsWritten' | 'repeatedDeliveries' | 'unreadableDeliveries' | 'staleDeliveries'
  | 'bytesWritten' | 'subscriberDrops' | 'batchesCaughtUp' | 'gaps' | 'staleMarkers';

const DROPPED_CLIENTS = { metric: 'fm_gateway_clients_dropped_total', help: 'Clients disconnected for holding too many unsent bytes, by which limit.' };
const DROPPED_DELIVERIES = { metric: 'fm_gateway_deliveries_dropped_total', help: 'Deliveries received and not written, by reason.' };

export const GATEWAY_COUNTERS: CounterSpecs<GatewayCounter> = {
  clientsConnected: { metric: 'fm_gateway_clients_connected_total', help: 'Clients that sent a valid id line and were served.' },
  clientsRejected: { metric: 'fm_gateway_clients_rejected_total', help: 'Clients disconnected for a bad id line or none in time.' },
  clientsRefused: { metric: 'fm_gateway_clients_refused_total', help: 'Connections closed at once: the process held GATEWAY_MAX_CLIENTS.' },
  acceptErrors: { metric: 'fm_gateway_accept_errors_total', help: 'Connections the operating system failed to hand over (ENOBUFS, ENOMEM).' },
  probes: { metric: 'fm_gateway_probes_total', help: 'Connections that closed without sending anything (a balancer\'s checks).' },
  slowClientsDropped: { ...DROPPED_CLIENTS, labels: { limit: 'client' } },
  totalBufferDrops: { ...DROPPED_CLIENTS, labels: { limit: 'total' } },
  deliveries: { metric: 'fm_gateway_deliveries_total', help: 'Deliveries (a user\'s notifications of one batch) written to the user\'s clients.' },
  notificationsWritten: {
    metric: 'fm_gateway_notifications_written_total', help: 'Notifications written to client sockets (once per client of the user).',
  },
  repeatedDeliveries: { ...DROPPED_DELIVERIES, labels: { reason: 'repeated' } },
  unreadableDeliveries: { ...DROPPED_DELIVERIES, labels: { reason: 'unreadable' } },
  staleDeliveries: { ...DROPPED_DELIVERIES, labels: { reason: 'stale_epoch' } },
  bytesWritten: { metric: 'fm_gateway_written_bytes_total', help: 'Bytes of notifications written to client sockets.' },
  subscriberDrops: { metric: 'fm_gateway_subscriber_drops_total', help: 'Times the subscriber connection dropped and deliveries were held until caught up.' },
  batchesCaughtUp: { metric: 'fm_gateway_batches_caught_up_total', help: 'Batches read back from the delivery log after a subscriber drop.' },
  gaps: { metric: 'fm_gateway_batch_gaps_total', help: 'Batches missed without a subscriber drop; every client was disconnected for each.' },
  staleMarkers: {
    metric: 'fm_gateway_stale_batch_markers_total',
    help: 'Batch-end markers of an older sequencer term dropped on a Redis Cluster (a deposed sequencer published late).',
  },
};

/** Up to the checker's 200 ms and well past it: a connect storm shows as the upper buckets filling. */
const JOIN_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5];

/** What the gateway's gauges read when scraped. */
export interface GatewayState {
  readonly clientCount: number;
  readonly userCount: number;
  readonly bufferedBytes: number;
}

export function registerGatewayGauges(metrics: ServiceMetrics, state: GatewayState): void {
  metrics.gauge('fm_gateway_clients', 'Client connections open, in the handshake or served.', (gauge) => gauge.set(state.clientCount));
  metrics.gauge('fm_gateway_users', 'Users with at least one client on this gateway process.', (gauge) => gauge.set(state.userCount));
  metrics.gauge(
    'fm_gateway_buffered_bytes', 'Bytes written to clients that have not left the process yet (in flight to slow readers).',
    (gauge) => gauge.set(state.bufferedBytes),
  );
}

export function joinLatencyHistogram(metrics: ServiceMetrics): Histogram {
  return metrics.histogram(
    'fm_gateway_join_latency_seconds', 'From a client\'s id line to its user\'s join being published (routable).', JOIN_SECONDS_BUCKETS,
  );
}
