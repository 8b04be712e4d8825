import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TranspiledSourceMaps } from './transpiled-source-map.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const US_PER_MS = 1000;
const NS_PER_US = 1000n;
/**
 * `CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile`; thread 0 is the main thread. The
 * others are tsx's module loader thread, busy only at start-up, so they are left out.
 */
const MAIN_THREAD_PROFILE = /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/;

/** The parts of V8's `.cpuprofile` JSON (as written by `node --cpu-prof`) that are used here. */
interface CpuProfile {
  readonly nodes: readonly CpuProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  /** Node id of each sample, in time order. */
  readonly samples: readonly number[];
  /** Microseconds from the previous sample (the first: from startTime) to each sample. */
  readonly timeDeltas: readonly number[];
}

interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    /** 0-based, in the code V8 ran. */
    readonly lineNumber: number;
    readonly columnNumber: number;
  };
}

export interface FunctionSelfTime {
  /** `(anonymous)`, or V8's pseudo-frames such as `(garbage collector)`, `(program)`, `(idle)`. */
  readonly functionName: string;
  /** `path:line` of the function, relative to the repository; empty for pseudo-frames. */
  readonly location: string;
  readonly selfMs: number;
}

/**
 * Microseconds of the monotonic clock, as `process.hrtime` counts them: on Linux V8's
 * profile timestamps come from the same CLOCK_MONOTONIC, so a window taken in the
 * benchmark's process selects the samples of the verification run alone, leaving
 * out the service's start-up (tsx compiling) and shutdown.
 */
export interface ProfileWindow {
  readonly startUs: number;
  readonly endUs: number;
}

export function monotonicNowUs(): number {
  return Number(process.hrtime.bigint() / NS_PER_US);
}

export interface ProfileSummary {
  readonly files: readonly string[];
  readonly totalMs: number;
  /** The `top` functions with the most self time, most first. */
  readonly functions: readonly FunctionSelfTime[];
}

/**
 * Self time per function over the main-thread `.cpuprofile`s in a directory (a service with
 * several processes, such as two gateways, adds up), counting the samples within
 * `window` only. Self time: the time of the samples whose innermost frame is that
 * function, wherever it was called from.
 */
export async function summarizeCpuProfiles(directory: string, top: number, window: ProfileWindow): Promise<ProfileSummary | undefined> {
  const files = (await readdir(directory)).filter((name) => MAIN_THREAD_PROFILE.test(name)).map((name) => join(directory, name));
  if (files.length === 0) return undefined;
  const byFunction = new Map<string, { frame: CpuProfileNode['callFrame']; selfUs: number }>();
  let totalUs = 0;
  for (const file of files) {
    const profile = parseCpuProfile(await readFile(file, 'utf8'), file);
    const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
    timedSamples(profile).forEach(({ timestampUs, durationUs }, index) => {
      const frame = frames.get(profile.samples[index]!);
      if (frame === undefined || timestampUs < window.startUs || timestampUs > window.endUs) return;
      totalUs += durationUs;
      const key = `${frame.functionName}@${frame.url}:${frame.lineNumber}:${frame.columnNumber}`;
      const entry = byFunction.get(key) ?? { frame, selfUs: 0 };
      entry.selfUs += durationUs;
      byFunction.set(key, entry);
    });
  }
  const sourceMaps = new TranspiledSourceMaps();
  const sorted = [...byFunction.values()].sort((a, b) => b.selfUs - a.selfUs).slice(0, top);
  const functions = await Promise.all(
    sorted.map(async ({ frame, selfUs }) => ({
      functionName: frame.functionName || '(anonymous)',
      location: await locate(frame, sourceMaps),
      selfMs: selfUs / US_PER_MS,
    })),
  );
  return { files, totalMs: totalUs / US_PER_MS, functions };
}

/**
 * How long each sample stands for: until the next sample, the last one until the
 * profile's end; what Chrome DevTools shows as self time.
 */
function timedSamples(profile: CpuProfile): Array<{ timestampUs: number; durationUs: number }> {
  const timestamps: number[] = [];
  let time = profile.startTime;
  for (const delta of profile.timeDeltas) timestamps.push((time += delta));
  return timestamps.map((timestampUs, index) => ({
    timestampUs,
    durationUs: Math.max(0, (timestamps[index + 1] ?? profile.endTime) - timestampUs),
  }));
}

async function locate(frame: CpuProfileNode['callFrame'], sourceMaps: TranspiledSourceMaps): Promise<string> {
  const { url, lineNumber, columnNumber } = frame;
  if (url === '') return '';
  if (!url.startsWith('file://')) return `${url}:${lineNumber + 1}`; // node:internal/..., run as written.
  const path = relative(REPO_ROOT, fileURLToPath(url));
  if (!/\.[cm]?tsx?$/.test(url)) return `${path}:${lineNumber + 1}`;
  const line = await sourceMaps.sourceLine(url, lineNumber, columnNumber);
  return line === undefined ? path : `${path}:${line}`;
}

function parseCpuProfile(text: string, file: string): CpuProfile {
  const value: unknown = JSON.parse(text);
  const profile = value as Partial<CpuProfile> | null;
  if (
    profile === null || typeof profile !== 'object' || !Array.isArray(profile.nodes) ||
    !Array.isArray(profile.samples) || !Array.isArray(profile.timeDeltas) ||
    typeof profile.startTime !== 'number' || typeof profile.endTime !== 'number'
  ) {
    throw new Error(`${file}: not a V8 CPU profile`);
  }
  return profile as CpuProfile;
}
