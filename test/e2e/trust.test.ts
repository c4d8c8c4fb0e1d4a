// Who may speak for a running VMI: a root process on the node that is not the VMI's
// launcher — outside the VM's cgroup, or even inside it — is refused at connect by
// the handler (SO_PEERCRED), logged, and changes nothing of the VMI.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { qemuPid } from '../../proto/vmi/annotations.js';
import { detectCgroups, VmCgroup } from '../../handler/sandbox/cgroup.js';
import { ROOT, TestHandler, cirrosVM, useTestHandler } from './harness.js';

let h: TestHandler;
useTestHandler((x) => (h = x));

/**
 * A rogue as a child process: it dials the VMI's launcher socket, negotiates, opens a
 * session and sends a Hello and a forged final CRASHED event. Prints what it got.
 */
const ROGUE = `
const grpc = await import(${JSON.stringify(join(ROOT, 'node_modules', '@grpc', 'grpc-js', 'build', 'src', 'index.js'))});
const { launcherPackage, protocolMetadata, CHANNEL_OPTIONS } = await import(${JSON.stringify(join(ROOT, 'dist', 'proto', 'rpc.js'))});
const pkg = launcherPackage();
const target = 'unix:' + process.argv[1];
const info = new pkg.Info(target, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
const negotiated = await new Promise((resolve) => info.Negotiate({ supportedVersions: [1], client: 'rogue' }, { deadline: Date.now() + 3000 }, (err, res) => resolve(err ? 'refused: ' + err.code : 'negotiated ' + res.version)));
const client = new pkg.Launcher(target, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
const s = client.Session(protocolMetadata(1));
let acked = false;
s.on('data', (m) => { if (m.ack) acked = true; });
s.on('error', () => {});
s.write({ hello: { pid: process.pid, version: 'rogue', domainDefined: true, lastEventSeq: 1 } });
s.write({ event: { seq: 1e12, timestampMs: Date.now(), state: 'CRASHED', reason: 'Rogue', message: 'forged', qemuPid: 1, accelerator: 'tcg', final: true, interfacesJson: '[{"ipAddress":"6.6.6.6"}]' } });
await new Promise((r) => setTimeout(r, 1500));
console.log(negotiated + (acked ? ' acked' : ' not acked'));
process.exit(0);
`;

function rogue(socket: string, wrap: (argv: string[]) => string[] = (a) => a): string {
  const argv = wrap([process.execPath, '--input-type=module', '-e', ROGUE, socket]);
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 20_000 });
  return `${r.stdout}${r.stderr}`.trim();
}

test('a root process that is not the launcher is refused at connect, inside the VM cgroup or not', async () => {
  assert.equal((await h.cli(['apply', '-f', '-'], cirrosVM('trusted'))).code, 0);
  const v = await h.waitPhase('trusted', 'Running', 120_000);
  const uid = v.metadata.uid!;
  const socket = join(h.runDir, 'vmis', uid, 'handler.sock');

  // From outside the VM's cgroup.
  assert.match(rogue(socket), /^refused: (14|4) not acked$/, 'the rogue got UNAVAILABLE and no ack');
  // From inside it: in the same cgroup as the launcher and QEMU, still not the launcher.
  const cg = VmCgroup.open(detectCgroups({ root: h.cgroupRoot }), uid);
  assert.match(rogue(socket, (argv) => cg.enterArgv(argv)), /^refused: (14|4) not acked$/);

  const after = await h.getVMI('trusted');
  assert.equal(after?.status?.phase, 'Running', 'the forged CRASHED changed nothing');
  assert.equal(qemuPid(after!), qemuPid(v));
  assert.ok(!JSON.stringify(after?.status?.interfaces ?? []).includes('6.6.6.6'));
  const refusals = h.log().split('\n').filter((l) => l.includes('refused a connection to the launcher socket'));
  assert.ok(refusals.length >= 2, `the refusals are logged:\n${refusals.join('\n')}`);
  assert.ok(refusals.some((l) => /is not this VMI's launcher/.test(l)), refusals.join('\n'));

  // The real launcher still answers: a lifecycle verb goes through.
  assert.equal((await h.cli(['pause', 'trusted'])).code, 0);
  await h.waitVMI('trusted', (x) => x?.status?.conditions.some((c) => c.type === 'Paused' && c.status === 'True') ?? false, 'paused');
  const del = await h.cli(['delete', 'vm', 'trusted', '--wait']);
  assert.equal(del.code, 0, del.stderr);
  await h.nothingLeft(uid);
});
