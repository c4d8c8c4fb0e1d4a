// The generated TypeScript types must match the .proto files they came from.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

function files(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p, base) : [relative(base, p)];
  });
}

test('proto/generated is up to date with the .proto files', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'vn-gen-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  execFileSync('bash', ['proto/gen.sh', out]);
  const want = files(out).sort();
  const have = files('proto/generated').sort();
  assert.deepEqual(have, want, 'generated file list differs: run npm run gen:proto');
  for (const f of want) {
    assert.equal(readFileSync(join('proto/generated', f), 'utf8'), readFileSync(join(out, f), 'utf8'), `${f} is stale: run npm run gen:proto`);
  }
});
