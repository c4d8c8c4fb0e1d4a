// Runs compiled tests with node:test. Node 20's `node --test` takes no globs, and
// its directory search would also run helper modules under test/, so the files are
// listed here: every dist/test/<suite>/**/*.test.js.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const suites = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const extra = process.argv.slice(2).filter((a) => a.startsWith('-'));
const roots = (suites.length ? suites : ['unit', 'e2e']).map((s) => join('dist', 'test', s));

function walk(dir, out) {
  let names;
  try { names = readdirSync(dir).sort(); } catch { return out; }
  for (const n of names) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (n.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = roots.flatMap((r) => walk(r, []));
if (files.length === 0) {
  console.error(`no tests found under ${roots.join(', ')} (did the build run?)`);
  process.exit(1);
}
// One file at a time: e2e files boot TCG guests that compete for this machine's cores.
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...extra, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
