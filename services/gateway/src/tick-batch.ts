import { ITEMS_PER_COMMAND } from './chunks.ts';

interface OpenBatch<T> {
  readonly items: T[];
  readonly handled: Promise<void>;
}

/**
 * Gathers what is added during one turn of the event loop and hands it to `handle` as
 * one list once the turn's I/O callbacks have run (setImmediate), so that every id line
 * read in one turn is subscribed and announced together: a connect storm then costs a
 * few commands per turn instead of a few per client. A list holds `maxItems` at most
 * (a command's argument count must not grow with the input); more added in the same
 * turn start the next list, handled after it.
 */
export class TickBatch<T> {
  private open: OpenBatch<T> | undefined;

  constructor(
    private readonly handle: (items: T[]) => Promise<void>,
    private readonly maxItems = ITEMS_PER_COMMAND,
  ) {}

  /** Settles as the list holding `item` is handled: resolves or rejects with it. */
  add(item: T): Promise<void> {
    if (!this.open || this.open.items.length >= this.maxItems) this.open = this.start();
    this.open.items.push(item);
    return this.open.handled;
  }

  private start(): OpenBatch<T> {
    const items: T[] = [];
    const handled = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      if (this.open?.items === items) this.open = undefined;
      return this.handle(items);
    });
    return { items, handled };
  }
}
