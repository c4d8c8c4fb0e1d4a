// Debian packages that only the benchmark needs (its peers and tools), installed on
// first use so that `npm test` does not pull them.

import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

/** Whether `cmd` is on PATH. */
export function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Installs `packages` unless every command in `commands` is already there; returns
 * why it could not, or undefined.
 */
export async function ensurePackages(packages: readonly string[], commands: readonly string[], log: (m: string) => void): Promise<string | undefined> {
  if (commands.every(have)) return undefined;
  log(`installing ${packages.join(' ')}: apt-get install --no-install-recommends`);
  const run = promisify(execFile);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    await run('apt-get', ['update', '-qq', '-o', 'DPkg::Lock::Timeout=120'], { env, timeout: 300_000 });
    await run('apt-get', ['install', '-y', '-qq', '-o', 'DPkg::Lock::Timeout=120', '--no-install-recommends', ...packages], { env, timeout: 600_000 });
  } catch (e) {
    return `apt-get install ${packages.join(' ')} failed: ${((e as { stderr?: string }).stderr || (e as Error).message).trim().split('\n').slice(-2).join(' ')}`;
  }
  const missing = commands.filter((c) => !have(c));
  return missing.length ? `${missing.join(', ')} still missing after apt-get install ${packages.join(' ')}` : undefined;
}
