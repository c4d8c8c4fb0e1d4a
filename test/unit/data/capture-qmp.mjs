#!/usr/bin/env node
// Captures the QMP replies test/unit/domain-stats.test.ts parses, from a real
// qemu-system-x86_64 booting the test guest (kernelBoot initrd, TCG) with a virtio
// disk and the balloon as virtnode's launcher configures them:
//   flock /tmp/vn-boot.lock node test/unit/data/capture-qmp.mjs > test/unit/data/qmp-stats.json
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cache = new URL('../../guest/.cache/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'vn-capture-'));
const disk = join(dir, 'disk.raw');
execFileSync('truncate', ['-s', '16M', disk]);
const sock = join(dir, 'qmp.sock');
const qemu = spawn('qemu-system-x86_64', [
  '-machine', 'q35,accel=tcg', '-cpu', 'qemu64,+arat', '-smp', '2', '-m', '128M', '-nographic', '-nodefaults', '-serial', 'null',
  '-kernel', join(cache, 'vmlinuz'), '-initrd', join(cache, 'initrd.img'), '-append', 'console=ttyS0 quiet',
  '-blockdev', JSON.stringify({ driver: 'file', filename: disk, 'node-name': 'ua-data-file' }),
  '-blockdev', JSON.stringify({ driver: 'raw', file: 'ua-data-file', 'node-name': 'ua-data' }),
  '-device', JSON.stringify({ driver: 'virtio-blk-pci', drive: 'ua-data', id: 'ua-data' }),
  '-device', JSON.stringify({ driver: 'virtio-balloon-pci', id: 'balloon0', 'free-page-reporting': true }),
  '-qmp', `unix:${sock},server=on,wait=off`,
], { stdio: ['ignore', 'ignore', 'inherit'] });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
await sleep(1000);
const s = net.connect(sock);
let buf = '';
const waiting = [];
s.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const line = JSON.parse(buf.slice(0, i));
    buf = buf.slice(i + 1);
    if ('return' in line || 'error' in line) waiting.shift()(line);
  }
});
const cmd = (execute, args) => new Promise((r) => { waiting.push(r); s.write(JSON.stringify({ execute, arguments: args }) + '\n'); });
await sleep(200);
await cmd('qmp_capabilities');
const before = await cmd('qom-get', { path: '/machine/peripheral/balloon0', property: 'guest-stats' });
await cmd('qom-set', { path: '/machine/peripheral/balloon0', property: 'guest-stats-polling-interval', value: 2 });
// The guest boots (a few seconds under TCG), loads virtio_balloon and reports.
let guest = before;
for (let i = 0; i < 60 && !(guest.return?.['last-update'] > 0); i++) {
  await sleep(1000);
  guest = await cmd('qom-get', { path: '/machine/peripheral/balloon0', property: 'guest-stats' });
}
const out = {
  qemu: (await cmd('query-version')).return,
  'query-blockstats': (await cmd('query-blockstats')).return,
  'query-cpus-fast': (await cmd('query-cpus-fast')).return,
  'query-balloon': (await cmd('query-balloon')).return,
  'guest-stats-before-report': before.return,
  'guest-stats': guest.return,
};
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
qemu.kill('SIGKILL');
s.destroy();
rmSync(dir, { recursive: true, force: true });
