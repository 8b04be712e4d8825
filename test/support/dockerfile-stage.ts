import { cpSync, mkdirSync, statSync } from 'node:fs';
import { basename, join, posix } from 'node:path';

/**
 * Lays out the file system of one Dockerfile stage in a directory, without Docker: what
 * the image's runtime would see in its WORKDIR. It knows only the instructions our
 * Dockerfile uses and refuses any other, so that a change to the Dockerfile cannot pass
 * unnoticed as something it was never checked for.
 *
 * `COPY --from=<stage> <path>` takes the path from the repository (the build context):
 * our build stages copy the context to the same relative paths under their WORKDIR and
 * build in place, so once `npm run build` ran in the repository, a path under their
 * WORKDIR is that path in the repository.
 */

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

interface Stage {
  readonly name: string | undefined;
  /** The image or earlier stage it starts from. */
  readonly from: string;
  readonly instructions: readonly Instruction[];
}

/** What the stage's container would run with, besides its files. */
export interface StageRuntime {
  readonly env: Readonly<Record<string, string>>;
  readonly user: string | undefined;
  readonly cmd: readonly string[];
}

export interface StageLayout {
  /** The Dockerfile's text. */
  readonly dockerfile: string;
  readonly stage: string;
  /** The build context: the repository. */
  readonly context: string;
  /** The directory that plays the stage's WORKDIR. */
  readonly target: string;
  /** Runs a RUN instruction's command in the target directory. */
  readonly run: (command: string) => Promise<void>;
}

function parseDockerfile(text: string): Stage[] {
  const stages: { name: string | undefined; from: string; instructions: Instruction[] }[] = [];
  for (const line of logicalLines(text)) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') {
      const [from = '', as, name] = args.split(/\s+/);
      if (as !== undefined && as.toUpperCase() !== 'AS') throw new Error(`unsupported FROM: ${line}`);
      stages.push({ name, from, instructions: [] });
      continue;
    }
    const current = stages.at(-1);
    if (!current) throw new Error(`instruction before the first FROM: ${line}`);
    current.instructions.push({ keyword: upper, args });
  }
  return stages;
}

/** The stage's instructions, those of the stages it is built FROM first. */
function stageInstructions(stages: readonly Stage[], name: string): Instruction[] {
  const stage = stages.find((candidate) => candidate.name === name);
  if (!stage) throw new Error(`no stage named ${name}`);
  const base = stages.some((candidate) => candidate.name === stage.from) ? stageInstructions(stages, stage.from) : [];
  return [...base, ...stage.instructions];
}

export async function layOutStage(layout: StageLayout): Promise<StageRuntime> {
  const stages = parseDockerfile(layout.dockerfile);
  const workdir = stageWorkdir(stages, layout.stage);
  mkdirSync(layout.target, { recursive: true });
  const env: Record<string, string> = {};
  let user: string | undefined;
  let cmd: string[] = [];
  const inTarget = (containerPath: string) => {
    const relative = posix.relative(workdir, posix.resolve(workdir, containerPath));
    if (relative.startsWith('..')) throw new Error(`${containerPath} lies outside WORKDIR ${workdir}`);
    return join(layout.target, relative);
  };
  for (const { keyword, args } of stageInstructions(stages, layout.stage)) {
    switch (keyword) {
      case 'WORKDIR':
        break;
      case 'COPY':
        copy(args, layout.context, inTarget, (stage, path) => {
          const relative = posix.relative(stageWorkdir(stages, stage), path);
          if (relative.startsWith('..')) throw new Error(`COPY --from=${stage} ${path}: outside that stage's WORKDIR`);
          return join(layout.context, relative);
        });
        break;
      case 'RUN':
        await layout.run(args);
        break;
      case 'ENV':
        for (const pair of args.split(/\s+/)) {
          const [, key, value] = /^([A-Za-z_][A-Za-z0-9_]*)=([^"'\s]*)$/.exec(pair) ?? [];
          if (key === undefined || value === undefined) throw new Error(`unsupported ENV: ${args}`);
          env[key] = value;
        }
        break;
      case 'USER':
        user = args;
        break;
      case 'CMD':
        cmd = JSON.parse(args) as string[];
        break;
      case 'EXPOSE':
        break;
      default:
        throw new Error(`unsupported instruction ${keyword} ${args}`);
    }
  }
  return { env, user, cmd };
}

/** The stage's one WORKDIR: the target directory stands for it, so it may not change within a stage. */
function stageWorkdir(stages: readonly Stage[], name: string): string {
  const workdirs = new Set(stageInstructions(stages, name).filter(({ keyword }) => keyword === 'WORKDIR').map(({ args }) => args));
  const [workdir, ...others] = workdirs;
  if (workdir === undefined || others.length > 0 || !workdir.startsWith('/')) {
    throw new Error(`stage ${name} needs one absolute WORKDIR, has ${[...workdirs].join(', ') || 'none'}`);
  }
  return workdir;
}

/** Docker's COPY for files and directories: a directory's contents go into the destination. */
function copy(
  args: string,
  context: string,
  inTarget: (containerPath: string) => string,
  fromStage: (stage: string, path: string) => string,
): void {
  const words = args.split(/\s+/);
  const flags = words.filter((word) => word.startsWith('--'));
  const paths = words.filter((word) => !word.startsWith('--'));
  const stage = flags.map((flag) => /^--from=(\S+)$/.exec(flag)?.[1]).find((value) => value !== undefined);
  if (flags.length > (stage === undefined ? 0 : 1)) throw new Error(`unsupported COPY flags: ${args}`);
  const destination = paths.pop();
  if (destination === undefined || paths.length === 0) throw new Error(`COPY needs a source and a destination: ${args}`);
  const intoDirectory = destination.endsWith('/') || paths.length > 1;
  for (const path of paths) {
    if (/[*?[]/.test(path)) throw new Error(`unsupported COPY wildcard: ${args}`);
    const source = stage === undefined ? join(context, path) : fromStage(stage, path);
    const target = intoDirectory && !statSync(source).isDirectory() ? join(inTarget(destination), basename(path)) : inTarget(destination);
    cpSync(source, target, { recursive: true });
  }
}

/** Instructions one per line: comments and blank lines dropped, continued lines joined. */
function logicalLines(text: string): string[] {
  const lines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    lines.push(pending + line);
    pending = '';
  }
  return lines;
}
