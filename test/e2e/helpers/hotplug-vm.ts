// Runs inside a test network namespace (ip netns exec): boots the test guest with
// one NIC whose tap QEMU inherits at spawn, hot-plugs a second NIC whose tap fd
// goes over QMP (getfd with SCM_RIGHTS), and prints what the guest sees as JSON.
// Used by nic-hotplug.test.ts; not a test itself.

import { connect } from 'node:net';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { DomainManager } from '../../../launcher/domain/manager.js';
import { dropLauncherPrivileges } from '../../../launcher/privileges.js';
import type { VirtualMachineInstance } from '../../../proto/vmi/types.js';

const [runDir, baseDisk] = process.argv.slice(2) as [string, string];
const overlay = join(runDir, 'disk.qcow2');
execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', baseDisk, overlay]);

const vmi: VirtualMachineInstance = {
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachineInstance',
  metadata: { name: 'hotplug', namespace: 'default', uid: '5e0a1c2d-0000-4000-8000-000000000001' },
  spec: {
    domain: {
      resources: { requests: { memory: '64M' } },
      devices: { disks: [{ name: 'containerdisk', disk: { bus: 'virtio' } }], interfaces: [{ name: 'default', masquerade: {} }] },
    },
    networks: [{ name: 'default', pod: {} }],
    volumes: [{ name: 'containerdisk', containerDisk: { image: 'test' } }],
  },
};

const log = pino({ level: 'warn' });
const manager = new DomainManager(log);
const running = new Promise<void>((r) => manager.on('state', (c) => c.state === 'RUNNING' && r()));
await manager.start(vmi, {
  runDir,
  accelerator: 'tcg',
  volumes: { containerdisk: { path: overlay, format: 'qcow2', backing: { path: baseDisk, format: 'qcow2' } } },
  interfaces: { default: { tapName: 'tap0', mac: '52:54:00:00:00:10' } },
}, { consoleSocket: join(runDir, 'console.sock') });
await running;
// What the launcher keeps once QEMU runs (launcher/privileges.ts) is what the hot-plug below has.
await dropLauncherPrivileges(log);

// A bare serial session on the launcher's console socket.
const sock = connect(join(runDir, 'console.sock'));
let out = '';
sock.on('data', (b) => (out += b.toString('latin1')));
async function expect(re: RegExp, from: number, ms = 90_000): Promise<RegExpMatchArray> {
  const end = Date.now() + ms;
  for (;;) {
    const m = out.slice(from).match(re);
    if (m) return m;
    if (Date.now() > end) throw new Error(`timed out waiting for ${re}: ${out.slice(-500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
async function run(cmd: string): Promise<string> {
  const tag = Math.random().toString(36).slice(2, 8);
  const from = out.length;
  sock.write(`echo B${tag}; ${cmd}; echo E${tag}\r`);
  return (await expect(new RegExp(`\\nB${tag}\\r?\\n([\\s\\S]*?)E${tag}`), from, 20_000))[1]!.replace(/\r/g, '');
}
let from = out.length;
sock.write('\r');
await expect(/login: $/m, Math.max(0, from - 200));
from = out.length;
sock.write('root\r');
await expect(/[Pp]assword: ?$/m, from);
from = out.length;
sock.write('gocubsgo\r');
await expect(/# (\x1b\[6n)?$/, from);

const before = (await run('ls /sys/class/net')).trim().split(/\s+/);
const eth0 = (await run('cat /sys/class/net/eth0/address')).trim();
const capEff = /^CapEff:\s*(\S+)$/m.exec(readFileSync('/proc/thread-self/status', 'utf8'))?.[1];
await manager.attachInterface({ name: 'hot', tapName: 'tap1', mac: '52:54:00:00:00:11' });
let after: string[] = [];
for (let i = 0; i < 60 && !after.includes('eth1'); i++) {
  await new Promise((r) => setTimeout(r, 250));
  after = (await run('ls /sys/class/net')).trim().split(/\s+/);
}
const eth1 = after.includes('eth1') ? (await run('cat /sys/class/net/eth1/address')).trim() : '';
process.stdout.write(JSON.stringify({ before, after, eth0, eth1, capEff }) + '\n');
sock.destroy();
await manager.kill();
await manager.close();
process.exit(0);
