// The network tools virtnode drives: iproute2 and nft. One spawn per batch of
// commands (`ip -batch`, `nft -f`), so a pod's whole setup costs a handful of
// processes; every failure names the command and carries the tool's own message.

import { execFile } from 'node:child_process';
import { VirtnodeError } from '../../proto/errors.js';

export class NetworkError extends VirtnodeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('VN_SANDBOX', message, options);
  }
}

interface RunOptions {
  input?: string;
  /** Exit statuses that are not failures (e.g. "no such device" on a removal). */
  okIf?: (stderr: string) => boolean;
}

export function run(file: string, args: string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      if (opts.okIf?.(stderr)) return resolve(stdout);
      const what = [file, ...args].join(' ');
      const msg = stderr.trim() || (err as Error).message;
      reject(new NetworkError(`${what}: ${msg}${opts.input ? `\n--- input ---\n${opts.input}` : ''}`, { cause: err }));
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

/** `ip` in the node's namespace, or in a named one (`ip -n`). */
export function ip(args: string[], netns?: string, opts: RunOptions = {}): Promise<string> {
  return run('ip', netns ? ['-n', netns, ...args] : args, opts);
}

/** Several `ip` commands in one process; stops at the first failure unless `force`. */
export function ipBatch(lines: string[], netns?: string, force = false): Promise<string> {
  const args = [...(netns ? ['-n', netns] : []), ...(force ? ['-force'] : []), '-batch', '-'];
  return run('ip', args, { input: lines.join('\n') + '\n', okIf: force ? () => true : undefined });
}

/** Parsed `ip -j ...` output. */
export async function ipJson<T>(args: string[], netns?: string, opts: RunOptions = {}): Promise<T[]> {
  const out = await ip(['-j', ...args], netns, opts);
  return out.trim() ? (JSON.parse(out) as T[]) : [];
}

// Two names, no optional netns argument: a forgotten argument must not put a pod's
// rules into the node's ruleset.

/** Applies an nft script to the node's ruleset, atomically (the whole file or nothing). */
export function nodeNft(script: string): Promise<string> {
  return run('nft', ['-f', '-'], { input: script });
}

/** Applies an nft script inside the pod's network namespace, atomically. */
export function podNft(netnsPath: string, script: string): Promise<string> {
  return run('nsenter', [`--net=${netnsPath}`, 'nft', '-f', '-'], { input: script });
}
