// No container engine runs here, so the Dockerfiles are checked statically: every
// path they COPY from the build context exists, and every entrypoint they name is
// a file the TypeScript build produces (dist/ of this very build).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HANDLER_NODE_FLAGS } from '../e2e/harness.js';

const root = process.cwd();

function instructions(file: string): string[] {
  // Join continuation lines, drop comments.
  return readFileSync(join(root, file), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

for (const file of ['Dockerfile.handler', 'Dockerfile.launcher']) {
  test(`${file}: COPY sources exist and the entrypoint is built`, () => {
    const lines = instructions(file);
    let copies = 0;
    for (const l of lines) {
      if (!/^COPY\s/i.test(l) || /--from=/.test(l)) continue;
      const parts = l.split(/\s+/).slice(1).filter((p) => !p.startsWith('--'));
      const sources = parts.slice(0, -1);
      for (const s of sources) {
        assert.ok(existsSync(join(root, s)), `${file}: COPY source ${s} does not exist`);
        copies++;
      }
    }
    assert.ok(copies >= 5, `${file}: expected the build context copies, found ${copies}`);
    const entry = lines.find((l) => /^ENTRYPOINT\s/i.test(l));
    assert.ok(entry, `${file}: no ENTRYPOINT`);
    const argv = JSON.parse(entry!.replace(/^ENTRYPOINT\s+/i, '')) as string[];
    const script = argv.find((a) => a.endsWith('.js'));
    assert.ok(script, `${file}: ENTRYPOINT names no script`);
    const built = join(root, script!.replace('/opt/virtnode/', ''));
    assert.ok(existsSync(built), `${file}: entrypoint ${script} is not produced by the build (${built} missing)`);
    assert.match(readFileSync(built, 'utf8'), /^#!\/usr\/bin\/env node/, `${file}: ${script} lacks its shebang`);
    // The runtime stage must carry the .proto files the code loads at run time.
    assert.ok(lines.some((l) => /^COPY\s+proto\/handler\.proto\s+proto\/launcher\.proto/.test(l)), `${file}: .proto files not copied`);
  });
}

test('the handler runs with the same Node flags in its image, in the demo and under test', () => {
  const entry = readFileSync(join(root, 'Dockerfile.handler'), 'utf8').split('\n').find((l) => /^ENTRYPOINT\s/i.test(l))!;
  const argv = JSON.parse(entry.replace(/^ENTRYPOINT\s+/i, '')) as string[];
  assert.deepEqual(argv.slice(1, argv.findIndex((a) => a.endsWith('.js'))), HANDLER_NODE_FLAGS);
  const demo = readFileSync(join(root, 'examples', 'demo.sh'), 'utf8');
  assert.ok(demo.includes(`node ${HANDLER_NODE_FLAGS.join(' ')} dist/handler/main.js`), 'examples/demo.sh starts the handler with HANDLER_NODE_FLAGS');
});
