// File access for cgroupfs: every failure is a VN_SANDBOX error naming the file, the
// value (for writes) and errno, so "EBUSY on cgroup.subtree_control" is diagnosable
// from the message alone.
import { readFileSync, writeFileSync, mkdirSync, rmdirSync, readdirSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { VirtnodeError } from '../../proto/errors.js';

export class CgroupError extends VirtnodeError {
  /** The cgroupfs file or directory involved, when there is one. */
  readonly path: string | undefined;
  /** 'EBUSY', 'ENOENT', ... when a syscall failed. */
  readonly errnoName: string | undefined;
  constructor(message: string, path?: string, errnoName?: string, options?: { cause?: unknown }) {
    super('VN_SANDBOX', message, options);
    this.path = path;
    this.errnoName = errnoName;
  }
}

function codeOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

function fail(op: string, path: string, e: unknown, hint?: string): CgroupError {
  const errno = (e as NodeJS.ErrnoException)?.errno;
  const known = errno === undefined ? undefined : getSystemErrorMap().get(errno);
  const what = known ? `${known[0]} (${known[1]})` : String((e as Error)?.message ?? e);
  return new CgroupError(`${op} ${path}: ${what}${hint ? `; ${hint}` : ''}`, path, codeOf(e), { cause: e });
}

export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw fail('read', path, e);
  }
}

/** The file's text, or undefined if it does not exist (a controller not enabled, an older kernel). */
export function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if (codeOf(e) === 'ENOENT') return undefined;
    throw fail('read', path, e);
  }
}

/** One write(2) of `value`, as cgroupfs expects (each write is one command). */
export function writeText(path: string, value: string, hint?: (code: string | undefined) => string | undefined): void {
  try {
    writeFileSync(path, value);
  } catch (e) {
    throw fail(`write ${JSON.stringify(value)} to`, path, e, hint?.(codeOf(e)));
  }
}

/** writeText off the event loop, for writes the kernel may make wait (a cgroup v1 attach). */
export async function writeTextAsync(path: string, value: string): Promise<void> {
  try {
    await fsp.writeFile(path, value);
  } catch (e) {
    throw fail(`write ${JSON.stringify(value)} to`, path, e);
  }
}

/** mkdir -p; true if the last component was created now. */
export function makeDir(path: string): boolean {
  try {
    mkdirSync(path);
    return true;
  } catch (e) {
    if (codeOf(e) === 'EEXIST') return false;
    if (codeOf(e) === 'ENOENT') {
      mkdirSync(path, { recursive: true });
      return true;
    }
    throw fail('mkdir', path, e);
  }
}

export function exists(path: string): boolean {
  try {
    readdirSync(path);
    return true;
  } catch (e) {
    if (codeOf(e) === 'ENOENT' || codeOf(e) === 'ENOTDIR') return false;
    throw fail('list', path, e);
  }
}

/** Child cgroups of `dir` (cgroupfs shows them as directories). */
export function childDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch (e) {
    if (codeOf(e) === 'ENOENT') return [];
    throw fail('list', dir, e);
  }
}

/**
 * rmdir of a cgroup and, first, its child cgroups (cgroupfs refuses a non-empty one).
 * Missing is fine. Returns the error code of a failed rmdir (EBUSY while a process
 * lingers) instead of throwing, so callers can retry.
 */
export function removeTree(dir: string): string | undefined {
  for (const child of childDirs(dir)) {
    const code = removeTree(join(dir, child));
    if (code) return code;
  }
  try {
    rmdirSync(dir);
    return undefined;
  } catch (e) {
    if (codeOf(e) === 'ENOENT') return undefined;
    if (codeOf(e) === 'EBUSY' || codeOf(e) === 'ENOTEMPTY') return codeOf(e);
    throw fail('rmdir', dir, e);
  }
}

/** PIDs in cgroup.procs of `dir` and of every cgroup below it. */
export function treePids(dir: string): number[] {
  const text = readOptional(join(dir, 'cgroup.procs'));
  if (text === undefined) return [];
  const pids = text.split('\n').filter(Boolean).map(Number);
  for (const child of childDirs(dir)) pids.push(...treePids(join(dir, child)));
  return pids;
}

/** "key value" lines (cpu.stat, memory.events, memory.oom_control) as a map. */
export function parseKeyValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}
