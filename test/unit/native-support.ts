// Shared by the native-*.test.ts files: child node processes that use the compiled
// native/ module, and a bounded wait for a process to die.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { pidfdIsAlive } from '../../native/index.js';

/** file: URL of dist/native/index.js, for `import` inside child scripts. */
export const NATIVE_URL = new URL('../../native/index.js', import.meta.url).href;

/** Starts `node` on an ES module script given as text. */
export function nodeScript(code: string, options: { stdio?: any[]; argv0?: string[] } = {}): ChildProcess {
  const argv = [...(options.argv0 ?? []), process.execPath, '--input-type=module', '-e', code];
  return spawn(argv[0]!, argv.slice(1), { stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'] });
}

/** Resolves with the first `n` lines the child writes to stdout; rejects if it exits first. */
export function readLines(child: ChildProcess, n: number, timeoutMs = 10_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${n} lines; stdout=${out} stderr=${err}`)), timeoutMs);
    child.stderr?.on('data', (d) => { err += d; });
    child.stdout!.on('data', (d) => {
      out += d;
      const lines = out.split('\n');
      if (lines.length > n) { clearTimeout(timer); resolve(lines.slice(0, n)); }
    });
    child.on('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`child exited (${code ?? sig}) before ${n} lines; stdout=${out} stderr=${err}`)); });
  });
}

/** Runs a child script to completion; resolves with its stdout, rejects on a non-zero exit. */
export async function runScript(code: string, argv0?: string[]): Promise<string> {
  const child = nodeScript(code, argv0 ? { argv0 } : {});
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { err += d; });
  const [code_, sig] = await once(child, 'exit');
  if (code_ !== 0) throw new Error(`child failed (${code_ ?? sig}): ${err}`);
  return out;
}

/** True once the pidfd's process has exited, false if it still runs after `timeoutMs`. */
export async function waitDead(pidfd: number, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!pidfdIsAlive(pidfd)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !pidfdIsAlive(pidfd);
}

/** SIGKILL, ignoring "no such process": for t.after cleanups. */
export function killQuietly(pid: number | undefined): void {
  if (!pid) return;
  try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
}
