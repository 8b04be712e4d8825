import type { Counter, Histogram } from 'prom-client';
import type { CounterSpecs, HealthCheck, ServiceMetrics } from '@follower-maze/shared';
import type { TermExit } from './active-term.ts';

export type SequencerCounter =
  | 'entriesRead' | 'eventsApplied' | 'notificationsRouted' | 'commits' | 'replayedEvents'
  | 'duplicateEvents' | 'beyondWindowEvents' | 'malformedEvents' | 'windowWaits' | 'retries' | 'skippedEvents';

const DROPPED = { metric: 'fm_sequencer_events_dropped_total', help: 'Events read from the stream and dropped, by reason.' };

export const SEQUENCER_COUNTERS: CounterSpecs<SequencerCounter> = {
  entriesRead: { metric: 'fm_sequencer_entries_read_total', help: 'Stream entries read (each holds up to 2,000 events).' },
  eventsApplied: { metric: 'fm_sequencer_events_applied_total', help: 'Events applied in sequence order and committed.' },
  notificationsRouted: { metric: 'fm_sequencer_notifications_routed_total', help: 'Notifications routed to online users and committed.' },
  commits: { metric: 'fm_sequencer_commits_total', help: 'Commits (one script each: deliveries, acknowledgements, graph, position).' },
  replayedEvents: {
    metric: 'fm_sequencer_events_replayed_total', help: 'Events read again (after a takeover or an operator\'s replay) that were already in.',
  },
  duplicateEvents: { ...DROPPED, labels: { reason: 'duplicate' } },
  beyondWindowEvents: { ...DROPPED, labels: { reason: 'beyond_window' } },
  malformedEvents: { ...DROPPED, labels: { reason: 'malformed' } },
  windowWaits: {
    metric: 'fm_sequencer_window_waits_total', help: 'Waits for a gateway to acknowledge what it holds past SEQUENCER_MAX_IN_FLIGHT_BYTES.',
  },
  retries: { metric: 'fm_sequencer_redis_retries_total', help: 'Reads, commits and publishes tried again after Redis failed them.' },
  skippedEvents: { metric: 'fm_sequencer_events_skipped_total', help: 'Missing sequence numbers given up on (ops skip-gap, SEQUENCER_GAP_TIMEOUT_MS).' },
};

/** From 1 ms to the lease's TTL: a commit that takes longer than the lease is one the sequencer may lose the lease over. */
const COMMIT_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5];
/** Up to the commit limits' defaults (10,000 events, 50,000 notifications). */
const BATCH_EVENTS_BUCKETS = [1, 10, 100, 500, 1000, 2000, 5000, 10_000];
const BATCH_NOTIFICATIONS_BUCKETS = [1, 10, 100, 1000, 5000, 10_000, 25_000, 50_000];

/** How a term ends: as the term itself says, its lease lost, or its start failed. */
export type TermEnding = TermExit | 'lease-lost' | 'failed';
const TERM_ENDINGS: readonly TermEnding[] = ['closed', 'fenced', 'reset', 'redis-reconnected', 'lease-lost', 'failed'];

/** What the gauges read of the term in progress. */
export interface TermState {
  /** Events held in the reorder window behind a missing one. */
  readonly heldEvents: number;
  readonly nextSeq: number;
  /** How long the sequencer has waited at a missing sequence number; 0 when it does not. */
  readonly gapWaitMs: number;
  readonly onlineUsers: number;
  unacknowledgedBytes(): ReadonlyMap<string, number>;
}

/**
 * Where a sequencer process stands: `standby` (waiting for the lease), `starting` (won
 * it, loading position, follow graph and presence) or `active` (sequencing).
 */
type SequencerRole = 'standby' | 'starting' | 'active';

/**
 * A sequencer process's metrics, which outlive its terms: the counters of each term
 * count into the same series, the gauges read the term in progress (0 on a standby),
 * and its role and term are kept here for /readyz as well.
 */
export class SequencerMetrics {
  readonly commitDuration: Histogram;
  readonly batchEvents: Histogram;
  readonly batchNotifications: Histogram;
  private readonly leaseWon: Counter;
  private readonly termsEnded: Counter<'exit'>;
  private currentRole: SequencerRole = 'standby';
  private currentTerm = 0;
  private state: TermState | undefined;

  constructor(
    readonly service: ServiceMetrics,
    reorderWindow: number,
  ) {
    this.commitDuration = service.histogram(
      'fm_sequencer_commit_duration_seconds', 'Time from a batch\'s commit request to Redis\'s answer, retries included.', COMMIT_SECONDS_BUCKETS,
    );
    this.batchEvents = service.histogram('fm_sequencer_batch_events', 'Events per committed batch.', BATCH_EVENTS_BUCKETS);
    this.batchNotifications = service.histogram(
      'fm_sequencer_batch_notifications', 'Notifications per committed batch.', BATCH_NOTIFICATIONS_BUCKETS,
    );
    this.leaseWon = service.counter('fm_sequencer_lease_acquired_total', 'Times this process won the lease and began a term.');
    this.termsEnded = service.counter('fm_sequencer_terms_ended_total', 'Terms of this process that ended, by how they ended.', ['exit']);
    for (const ending of TERM_ENDINGS) this.termsEnded.labels(ending).inc(0);
    service.gauge('fm_sequencer_active', '1 while this process is the active sequencer, else 0.', (gauge) => gauge.set(this.currentRole === 'active' ? 1 : 0));
    service.gauge('fm_sequencer_term', 'The term this process leads (numbered in Redis, one more per takeover); 0 on a standby.', (gauge) => gauge.set(this.currentTerm));
    service.gauge('fm_sequencer_reorder_window_events', 'Sequence numbers the reorder window spans (SEQUENCER_REORDER_WINDOW).', (gauge) => gauge.set(reorderWindow));
    service.gauge('fm_sequencer_reorder_held_events', 'Events held in the reorder window behind a missing one.', (gauge) => gauge.set(this.state?.heldEvents ?? 0));
    service.gauge('fm_sequencer_next_sequence_number', 'The next sequence number to apply.', (gauge) => gauge.set(this.state?.nextSeq ?? 0));
    service.gauge(
      'fm_sequencer_gap_wait_seconds', 'How long the sequencer has waited at a missing sequence number, with later events held; 0 when it does not.',
      (gauge) => gauge.set((this.state?.gapWaitMs ?? 0) / 1000),
    );
    service.gauge('fm_sequencer_online_users', 'Users online on some gateway, as the active sequencer routes to them.', (gauge) => gauge.set(this.state?.onlineUsers ?? 0));
    service.gauge<'gateway'>(
      'fm_sequencer_unacknowledged_bytes', 'Bytes published to a gateway that it has not acknowledged yet, per gateway.',
      (gauge) => {
        gauge.reset();
        for (const [gateway, bytes] of this.state?.unacknowledgedBytes() ?? []) gauge.labels(gateway).set(bytes);
      },
      ['gateway'],
    );
  }

  /** The lease is won: the term loads. */
  termStarting(): void {
    this.leaseWon.inc();
    this.currentRole = 'starting';
  }

  termActive(term: number, state: TermState): void {
    this.currentRole = 'active';
    this.currentTerm = term;
    this.state = state;
  }

  /** Back to standby, however the term ended (or failed to start). */
  termEnded(exit: TermEnding): void {
    this.termsEnded.labels(exit).inc();
    this.currentRole = 'standby';
    this.currentTerm = 0;
    this.state = undefined;
  }

  /**
   * Ready while active or standing by: a standby is doing its job, which is to take over
   * within the lease's TTL. Not ready while a term starts (it cannot sequence yet).
   */
  roleCheck(): HealthCheck {
    return {
      name: 'role',
      check: () => {
        if (this.currentRole === 'active') return { ok: true, detail: `active, term ${this.currentTerm}` };
        if (this.currentRole === 'standby') return { ok: true, detail: 'standby, waiting for the lease' };
        return { ok: false, detail: 'starting a term: loading the position, the follow graph and presence' };
      },
    };
  }
}
