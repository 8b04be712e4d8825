import type { CounterSpecs, ServiceMetrics } from '@follower-maze/shared';

/** Why a line from the event source was not taken as an event. */
export type RejectionReason = 'malformed' | 'oversized' | 'unterminated';

export type IngestCounter =
  | 'sourcesConnected' | 'sourcesRefused' | 'sourcesNotAllowed' | 'probes' | 'eventsAccepted' | 'malformedEvents' | 'oversizedLines'
  | 'unterminatedLines' | 'pauses' | 'appendErrors' | 'waitsShort';

export const REJECTION_COUNTERS: Readonly<Record<RejectionReason, IngestCounter>> = {
  malformed: 'malformedEvents',
  oversized: 'oversizedLines',
  unterminated: 'unterminatedLines',
};

const REJECTED = { metric: 'fm_ingest_events_rejected_total', help: 'Lines from the event source not taken as events, by reason.' };

export const INGEST_COUNTERS: CounterSpecs<IngestCounter> = {
  sourcesConnected: { metric: 'fm_ingest_sources_connected_total', help: 'Event source connections admitted.' },
  sourcesRefused: { metric: 'fm_ingest_sources_refused_total', help: 'Event source connections refused: INGEST_MAX_SOURCES were connected.' },
  sourcesNotAllowed: {
    metric: 'fm_ingest_sources_not_allowed_total', help: 'Connections to the event port closed at once: their address is not in EVENT_SOURCE_ALLOW.',
  },
  probes: { metric: 'fm_ingest_probes_total', help: 'Connections to the event port that closed without sending anything (probes).' },
  eventsAccepted: { metric: 'fm_ingest_events_accepted_total', help: 'Events accepted from the source and queued for the stream.' },
  malformedEvents: { ...REJECTED, labels: { reason: 'malformed' } },
  oversizedLines: { ...REJECTED, labels: { reason: 'oversized' } },
  unterminatedLines: { ...REJECTED, labels: { reason: 'unterminated' } },
  pauses: { metric: 'fm_ingest_pauses_total', help: 'Times the source was paused by back-pressure (Redis or the sequencer behind).' },
  appendErrors: { metric: 'fm_ingest_append_errors_total', help: 'Stream appends Redis refused; each is retried, in order.' },
  waitsShort: {
    metric: 'fm_ingest_waits_short_total',
    help: 'WAITs after appends (REDIS_WAIT_REPLICAS) that saw fewer replicas take them within REDIS_WAIT_TIMEOUT_MS, or failed.',
  },
};

/** What the ingest's gauges read when scraped. */
export interface IngestState {
  readonly paused: boolean;
  readonly unreadEntries: number;
}

export function registerIngestGauges(metrics: ServiceMetrics, state: IngestState): void {
  metrics.gauge('fm_ingest_paused', '1 while the source is not read (back-pressure), else 0.', (gauge) => gauge.set(state.paused ? 1 : 0));
  metrics.gauge(
    'fm_ingest_unread_entries', 'Stream entries this ingest appended that the sequencer has not read yet.',
    (gauge) => gauge.set(state.unreadEntries),
  );
}
