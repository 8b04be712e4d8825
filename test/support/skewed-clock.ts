/**
 * Preloaded into a service (`node --import tsx --import ./skewed-clock.ts ...`) to run it
 * as if on a host whose wall clock is off by FM_CLOCK_SKEW_MS milliseconds (negative:
 * behind): `Date.now()` and `new Date()` are shifted; monotonic clocks
 * (`performance.now()`, `process.hrtime`) are not, as on a real host. Only this process
 * and the processes it forks (same Node arguments) are affected.
 */
const skewMs = Number(process.env['FM_CLOCK_SKEW_MS'] ?? '0');
if (!Number.isFinite(skewMs)) throw new Error(`FM_CLOCK_SKEW_MS must be a number of milliseconds, e.g. -3600000`);

const RealDate = globalThis.Date;
const now = (): number => RealDate.now() + skewMs;

/** `Date` itself, but for the current time: `new Date()`, `Date()` and `Date.now()` read the skewed clock. */
globalThis.Date = new Proxy(RealDate, {
  construct: (target, args, newTarget) => Reflect.construct(target, args.length === 0 ? [now()] : args, newTarget) as object,
  apply: () => new RealDate(now()).toString(),
  get: (target, property, receiver) => (property === 'now' ? now : Reflect.get(target, property, receiver)),
});
