export interface VerificationReport {
  ok: boolean;
  /** The first few problems, human readable. */
  failures: string[];
  eventsSent: number;
  notificationsReceived: number;
  notificationsExpected: number;
  /** Clients whose connection the server closed and which connected again (only with `reconnect`). */
  clientsReconnected: number;
  /** Expected notifications that reconnected clients legitimately missed: routed while they were offline. */
  notificationsMissedOffline: number;
  /** From the first event sent to the last notification received. */
  durationMs: number;
  eventsPerSecond: number;
  notificationsPerSecond: number;
  latencyMs: { p50: number; p99: number; samples: number };
}
