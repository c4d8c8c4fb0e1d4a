// Apply's manifests read without holding the event loop: a large one is judged in a
// worker thread exactly as a small one in line, within a time budget; and errors,
// however many or however long, fit what a gRPC trailer carries.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManifestReader } from '../../handler/api/manifest-reader.js';
import { boundedDetails, MAX_DETAILS_CHARS } from '../../handler/api/status.js';
import { InvalidSpecError } from '../../proto/errors.js';
import { judgeManifest } from '../../proto/vmi/admit.js';

const OPTS = { podNetworking: true };

function vmi(name: string, labels: number, extra = ''): string {
  const l = Array.from({ length: labels }, (_, i) => `    k${i}: v${i}`).join('\n');
  return `apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n  name: ${name}\n${labels ? `  labels:\n${l}\n` : ''}spec:\n  domain:\n    devices: {}\n    resources:\n      requests:\n        memory: 64M\n${extra}`;
}

test('a large manifest is judged in the worker exactly as in line, errors included', async (t) => {
  const reader = new ManifestReader({ inlineMaxChars: 1024 });
  t.after(() => reader.close());
  const text = `${vmi('a', 3000)}---\n${vmi('b', 10, '  bogus: 1\n')}`;
  const inWorker = await reader.read(text, OPTS);
  assert.deepEqual(inWorker, judgeManifest(text, OPTS));
  assert.equal(Object.keys(inWorker.objects[0]!.object!.metadata.labels!).length, 3000);
  assert.deepEqual(inWorker.objects[1]!.errors, [{ path: '[1] VirtualMachineInstance b: spec.bogus', message: 'unknown field' }]);
  // A manifest that cannot be read at all is refused by the worker too.
  await assert.rejects(reader.read(`${vmi('c', 2000)}\n  : [unclosed\n`, OPTS), (e: unknown) => e instanceof InvalidSpecError && /line \d+/.test(e.fields[0]!.path));
});

test('a manifest that takes longer than the budget is refused, and the next one is read', async (t) => {
  const reader = new ManifestReader({ inlineMaxChars: 1024, budgetMs: 50 });
  t.after(() => reader.close());
  await assert.rejects(reader.read(vmi('slow', 60_000), OPTS), /manifest: took more than 0\.05 s to read; refused/);
  const ok = new ManifestReader({ inlineMaxChars: 1024 });
  t.after(() => ok.close());
  assert.equal((await ok.read(vmi('d', 500), OPTS)).objects[0]!.object!.metadata.name, 'd');
});

test('the event loop keeps turning while the worker reads 100,000 labels', async (t) => {
  const reader = new ManifestReader();
  t.after(() => reader.close());
  const text = vmi('huge', 100_000);
  let longest = 0;
  let last = performance.now();
  const tick = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 5);
  const judged = await reader.read(text, OPTS);
  clearInterval(tick);
  assert.equal(Object.keys(judged.objects[0]!.object!.metadata.labels!).length, 100_000);
  // In line this was seconds of one stall; here only the answer's copy lands on the loop.
  console.log(`longest event loop gap while reading: ${longest.toFixed(1)} ms`);
  assert.ok(longest < 1000, `the event loop stalled ${longest.toFixed(0)} ms`);
});

test('an error of any size fits the trailer: field errors one by one, then how many more', () => {
  const many = new InvalidSpecError(Array.from({ length: 5000 }, (_, i) => ({ path: `spec.domain.devices.interfaces[${i}].name`, message: 'Required value' })));
  const d = boundedDetails(many);
  assert.ok(d.length <= MAX_DETAILS_CHARS, `${d.length} characters`);
  assert.match(d, /^spec\.domain\.devices\.interfaces\[0\]\.name: Required value; /);
  assert.match(d, /… and 4,9\d\d more$/);
  const long = boundedDetails(new InvalidSpecError([{ path: 'metadata.labels.a', message: `value ${'x'.repeat(200_000)} is too long` }]));
  assert.ok(long.length <= 300 && long.endsWith('…'), `${long.length} characters`);
  assert.equal(boundedDetails(new Error('y'.repeat(10_000))).length, MAX_DETAILS_CHARS);
});
