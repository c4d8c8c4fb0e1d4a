// A full disk on demand, for the tests of what a write that fails with ENOSPC leaves.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** A tmpfs of `size` (mount's words: 64k) in a fresh directory, unmounted after the test; undefined where mounting is not allowed. */
export function tinyDisk(t: TestContext, size = '64k', prefix = 'vn-full-'): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  t.after(() => {
    execFileSync('umount', ['-l', dir]); // lazily: a store may still hold its journal open
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Writes `file` until its filesystem has no page left. */
export function fillDisk(file: string): void {
  const fd = openSync(file, 'a');
  try {
    for (;;) writeSync(fd, Buffer.alloc(4096));
  } catch (e) {
    assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    closeSync(fd);
  }
}
