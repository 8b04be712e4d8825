import { randomInt } from 'node:crypto';
import envVar from 'env-var';
import { loadConfig } from '@follower-maze/shared';
import { gatewayMaxClients } from '../../bench/src/scale-figures.ts';
import { FAULT_NAMES, type FaultName } from './faults.ts';

/** What every run of the soak puts through its stack. */
export interface SoakLoad {
  /** Events of each verification run. */
  readonly events: number;
  /**
   * The source's cap, so that a run lasts long enough for the fault to land inside it;
   * undefined (SOAK_EVENTS_PER_SECOND=0) sends as fast as the stack takes them.
   */
  readonly eventsPerSecond: number | undefined;
  /** The verification's clients (its concurrencyLevel), each checked. */
  readonly clients: number;
  /** Users the verification's events name (its numberOfUsers): the size of the follow graph. */
  readonly users: number;
  /**
   * Idle online users beside the verification, connected from crowd processes; only
   * broadcasts reach them. They make presence, broadcasts and reconnections as large as
   * a busy gateway's without a verifier process holding every socket.
   */
  readonly crowd: number;
  /** Gateway processes, each on a port of its own. */
  readonly gateways: number;
  /** GATEWAY_MAX_CLIENTS of every gateway: the service's default, or more when the clients and the crowd need it. */
  readonly maxClientsPerGateway: number;
}

export interface SoakOptions {
  /** Faults in the order they are soaked. */
  readonly faults: readonly FaultName[];
  readonly runsPerFault: number;
  /** Every random choice of the soak derives from it. */
  readonly seed: number;
  readonly load: SoakLoad;
}

const MAX_SEED = 0xffff_ffff;

/**
 * `descriptorLimit` is what a gateway process may hold (`ulimit -n`): clients and crowd
 * that do not fit on SOAK_GATEWAYS gateways are refused with a gateway count that fits.
 *
 * SOAK_RUNS_PER_FAULT, SOAK_SEED, SOAK_FAULTS (comma list), SOAK_EVENTS,
 * SOAK_EVENTS_PER_SECOND (0: no cap), SOAK_CLIENTS, SOAK_USERS, SOAK_CROWD,
 * SOAK_GATEWAYS; throws a message naming the variable and a valid example.
 * Defaults: 10 runs of every fault, 300,000 events at 50,000/s (about 6 s of events) to
 * the checker's 100 clients and 1,000 users over 2 gateways, no crowd, a fresh seed.
 */
export function soakOptionsFromEnv(env: NodeJS.ProcessEnv, descriptorLimit = Infinity): SoakOptions {
  const vars = envVar.from(env);
  const positive = (name: string, fallback: string): number =>
    atLeastOne(name, vars.get(name).default(fallback).example(fallback).asIntPositive(), fallback);
  const clients = positive('SOAK_CLIENTS', '100');
  const users = positive('SOAK_USERS', String(10 * clients)); // the checker's numberOfUsers default
  if (users < clients) throw new Error(`SOAK_USERS=${users}: expected at least SOAK_CLIENTS (${clients}), e.g. SOAK_USERS=${10 * clients}`);
  const crowd = vars.get('SOAK_CROWD').default('0').example('50000').asIntPositive();
  const eventsPerSecond = vars.get('SOAK_EVENTS_PER_SECOND').default('50000').example('50000').asIntPositive();
  const gateways = positive('SOAK_GATEWAYS', '2');
  // The verification and the crowd each spread over the gateways, each rounding up on the busiest.
  const maxClientsPerGateway = gatewayMaxClients(
    clients + crowd + gateways, gateways, loadConfig({}, []).gateway.maxClients, descriptorLimit, 'SOAK_GATEWAYS',
  );
  return {
    faults: faultsFrom(env['SOAK_FAULTS']),
    runsPerFault: positive('SOAK_RUNS_PER_FAULT', '10'),
    seed: seedFrom(env['SOAK_SEED']),
    load: {
      events: positive('SOAK_EVENTS', '300000'),
      eventsPerSecond: eventsPerSecond === 0 ? undefined : eventsPerSecond,
      clients,
      users,
      crowd,
      gateways,
      maxClientsPerGateway,
    },
  };
}

function faultsFrom(raw: string | undefined): FaultName[] {
  if (raw === undefined || raw.trim() === '') return [...FAULT_NAMES];
  const names = raw.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !(FAULT_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0 || new Set(names).size !== names.length) {
    throw new Error(
      `SOAK_FAULTS=${JSON.stringify(raw)}: expected distinct names among ${FAULT_NAMES.join(', ')}, ` +
        `e.g. SOAK_FAULTS=redis-restart,sequencer-kill`,
    );
  }
  return names as FaultName[];
}

function seedFrom(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return randomInt(MAX_SEED);
  const seed = Number(raw.trim());
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw new Error(`SOAK_SEED=${JSON.stringify(raw)}: expected an integer from 0 to ${MAX_SEED}, e.g. SOAK_SEED=12345`);
  }
  return seed;
}

/** env-var's asIntPositive lets 0 through. */
function atLeastOne(name: string, value: number, example: string): number {
  if (value < 1) throw new Error(`${name}=${value}: expected at least 1, e.g. ${name}=${example}`);
  return value;
}
