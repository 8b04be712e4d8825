/**
 * Operators' requests to the active sequencer, carried as BullMQ jobs so they wait
 * for whichever sequencer is active, are retried, and stay visible afterwards.
 * - `replay`: read the pending (unacknowledged) stream entries again from the committed
 *   position; repairs entries stuck in the pending list.
 * - `reset`: start a new sequence from 1: empties the stream, the follow graph and the
 *   delivery log, and moves to a new epoch so that no state of the old sequence is used.
 */
export const OPERATIONS_QUEUE = 'operations';
export type Operation = 'replay' | 'reset';
export const OPERATIONS: readonly Operation[] = ['replay', 'reset'];

/** A reset names the epoch the operator saw, so that a late or repeated job cannot wipe a newer sequence. */
export interface ResetRequest {
  readonly epoch: number;
}
