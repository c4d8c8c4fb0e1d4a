// The handler's store through the real handler (issue 17, finding 6): an object
// with the longest valid name is stored and outlives a handler restart, and an
// Apply the store cannot write is answered with the cause and starts nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TestHandler, cgroupRootDirs, cirrosVMI, pgrepAll, sleep, useTestHandler } from './harness.js';
import { fillDisk } from '../unit/helpers/tiny-disk.js';

let h: TestHandler;
useTestHandler((x) => (h = x));

/** A valid DNS-subdomain name of the greatest length, 253: four labels joined by dots. */
const LONG = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)].join('.');

const haltedVM = (name: string): string =>
  `apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: ${name}\nspec:\n  runStrategy: Halted\n  template:\n    spec:\n      domain:\n        devices: {}\n        resources:\n          requests:\n            memory: 64M\n`;

test('a VM with a 253-character name is stored and survives a handler restart', async () => {
  assert.equal(LONG.length, 253);
  const r = await h.cli(['apply', '-f', '-'], haltedVM(LONG));
  assert.equal(r.code, 0, r.stderr);
  const vm = await h.getVM(LONG);
  assert.equal(vm?.metadata.name, LONG);

  await h.stop();
  await h.start();
  const again = await h.getVM(LONG);
  assert.equal(again?.metadata.name, LONG, 'the VM is back after the restart');
  assert.equal(again?.metadata.uid, vm!.metadata.uid, 'the same object');
  const got = await h.cli(['get', 'vm', LONG, '-o', 'json']);
  assert.equal(got.code, 0, got.stderr);
  assert.equal((JSON.parse(got.stdout) as { metadata: { name: string } }).metadata.name, LONG);

  const d = await h.cli(['delete', 'vm', LONG]);
  assert.equal(d.code, 0, d.stderr);
  await h.waitVM(LONG, (v) => v === undefined, 'deleted');
});

test('an Apply the store cannot write is answered with the cause, and nothing of it runs', async (t) => {
  // The VMI objects' directory on a full 64 KiB tmpfs: a disk out of space.
  const objects = join(h.stateDir, 'store', 'objects', 'VirtualMachineInstance');
  mkdirSync(objects, { recursive: true, mode: 0o700 });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', objects]);
  t.after(() => execFileSync('umount', ['-l', objects]));
  fillDisk(join(objects, 'fill'));

  const r = await h.cli(['apply', '-f', '-'], cirrosVMI('no-room'));
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /VirtualMachineInstance default\/no-room was not created: the store could not write it: ENOSPC: no space left on device/);
  assert.equal(await h.getVMI('no-room'), undefined);
  // Time enough for a controller to have started a sandbox, had it heard of the VMI.
  await sleep(1500);
  assert.equal(await h.getVMI('no-room'), undefined);
  for (const d of cgroupRootDirs(h.cgroupRoot)) assert.deepEqual(readdirSync(d).filter((n) => /^[0-9a-f-]{36}$/.test(n)), [], `no VM cgroup in ${d}`);
  assert.deepEqual(pgrepAll(join(h.runDir, 'vmis')), [], 'no launcher or QEMU');
  let sandboxes: string[] = [];
  try {
    sandboxes = readdirSync(join(h.runDir, 'vmis'));
  } catch {
    /* never made */
  }
  assert.deepEqual(sandboxes, [], 'no sandbox directory');
  const events = await h.cli(['events']);
  assert.equal(events.code, 0, events.stderr);
  assert.doesNotMatch(events.stdout, /no-room/, 'no Event about a VMI that never was');
});
