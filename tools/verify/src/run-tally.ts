/** Counters shared by all clients of one run, read by the progress and completion checks. */
export class RunTally {
  eventsSent = 0;
  notificationsExpected = 0;
  notificationsReceived = 0;
  /** Expected by some client and neither received nor given up as skipped. */
  outstanding = 0;
  /** Of any notification received as expected: shows whether events sent after a given moment got through. */
  highestSeqReceived = 0;
  firstEventSentAt: number | undefined;
  lastEventSentAt = 0;
  lastNotificationAt = 0;
}
