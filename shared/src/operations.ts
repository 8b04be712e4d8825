/**
 * Operators' requests to the active sequencer, carried as BullMQ jobs so they wait
 * for whichever sequencer is active, are retried, and stay visible afterwards.
 * - `replay`: read the pending (unacknowledged) stream entries again from the committed
 *   position; repairs entries stuck in the pending list.
 * - `skip-gap`: give up on the missing sequence numbers the sequencer waits at (an event
 *   lost with a crashed Redis's last writes), so that the events after them flow again.
 * - `reset`: start a new sequence from 1: empties the stream, the follow graph and the
 *   delivery log, and moves to a new epoch so that no state of the old sequence is used.
 */
export const OPERATIONS_QUEUE = 'operations';
export type Operation = 'replay' | 'skip-gap' | 'reset';
export const OPERATIONS: readonly Operation[] = ['replay', 'skip-gap', 'reset'];

/** A reset names the epoch the operator saw, so that a late or repeated job cannot wipe a newer sequence. */
export interface ResetRequest {
  readonly epoch: number;
}
