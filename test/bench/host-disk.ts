// hostDisk throughput: sequential 1 MiB writes and reads (O_DIRECT in the guest, so
// its page cache is out of the way) on a raw hostDisk, virtnode vs bare QEMU with
// the same -blockdev chain (the launcher's own argv, built by launcher/domain, the
// file given by path instead of the launcher's fdset), alternating per round. The
// issue's target: at least 0.8x bare. Under TCG both are bound by emulation; the
// ratio is what says whether the node path (cgroup, fd passing) costs anything.

import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { ApplyResponse__Output } from '../../proto/generated/virtnode/handler/v1/ApplyResponse.js';
import type { Object__Output } from '../../proto/generated/virtnode/handler/v1/Object.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { LaunchContext } from '../../proto/launch.js';
import { buildArgv } from '../../launcher/domain/argv.js';
import { vmiToDomain } from '../../launcher/domain/convert.js';
import { guestLogin } from '../guest/index.js';
import type { TestHandler } from '../e2e/harness.js';
import { benchRegistry, benchVMI, startHandler, VOLUME, type Bench } from './common.js';
import { connectWhenReady } from './console-clock.js';
import { median } from './stats.js';

export interface HostDiskOptions {
  rounds: number;
  /** MiB written, then read, per measurement. */
  mib: number;
}

const PART = 'hostdisk';
const DATA = 'data';

/** The bench guest with a second disk on a raw hostDisk at `path`. */
function hostDiskVMI(name: string, path: string, mib: number): string {
  return benchVMI(name)
    .replace(`      - name: ${VOLUME}\n        disk:\n          bus: virtio\n`, `      - name: ${VOLUME}\n        disk:\n          bus: virtio\n      - name: ${DATA}\n        disk:\n          bus: virtio\n`)
    .concat(`  - name: ${DATA}\n    hostDisk:\n      path: ${path}\n      type: DiskOrCreate\n      capacity: ${mib + 16}Mi\n`);
}

/** What a shell over a serial line needs: bytes in, bytes out. */
interface Line {
  write(s: string): void;
  output(): string;
  wait(re: RegExp, from: number, timeoutMs: number): Promise<RegExpMatchArray>;
}

function socketLine(sock: Socket): Line {
  let buf = '';
  const waiters: (() => void)[] = [];
  sock.on('data', (b: Buffer) => {
    buf += b.toString('latin1');
    for (const w of waiters.splice(0)) w();
  });
  sock.on('error', () => undefined);
  return {
    write: (s) => void sock.write(s),
    output: () => buf,
    async wait(re, from, timeoutMs) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const m = buf.slice(from).match(re);
        if (m) return m;
        const left = end - Date.now();
        if (left <= 0) throw new Error(`timed out waiting for ${re}; console: ${JSON.stringify(buf.slice(-400))}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, Math.min(left, 500));
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
    },
  };
}

async function rootLogin(l: Line): Promise<void> {
  const from = l.output().length;
  l.write('\r');
  await l.wait(/login: $/m, Math.max(0, from - 200), 120_000);
  let at = l.output().length;
  l.write('root\r');
  await l.wait(/[Pp]assword: ?$/m, at, 30_000);
  at = l.output().length;
  l.write(`${guestLogin.rootPassword}\r`);
  await l.wait(/# (\x1b\[6n)?$/, at, 30_000);
}

async function run(l: Line, cmd: string, timeoutMs: number): Promise<string> {
  const tag = randomUUID().slice(0, 8);
  const from = l.output().length;
  l.write(`echo B${tag}; ${cmd}; echo E${tag}\r`);
  return (await l.wait(new RegExp(`\\nB${tag}\\r?\\n([\\s\\S]*?)E${tag}`), from, timeoutMs))[1]!.replace(/\r/g, '');
}

/** MiB/s of `dd` in the guest, timed by the guest's /proc/uptime around it. */
async function ddRate(l: Line, dd: string, mib: number): Promise<number> {
  const out = await run(l, `a=$(cut -d' ' -f1 /proc/uptime); ${dd} >/dev/null 2>&1; r=$?; b=$(cut -d' ' -f1 /proc/uptime); echo "dd $r $a $b"`, 300_000);
  const m = /dd (\d+) ([\d.]+) ([\d.]+)/.exec(out);
  if (!m || m[1] !== '0') throw new Error(`${dd} failed in the guest: ${out.trim()}`);
  const seconds = Number(m[3]) - Number(m[2]);
  return mib / Math.max(seconds, 0.01);
}

async function measure(l: Line, mib: number): Promise<{ write: number; read: number }> {
  await rootLogin(l);
  const write = await ddRate(l, `dd if=/dev/zero of=/dev/vdb bs=1M count=${mib} oflag=direct conv=fsync`, mib);
  const read = await ddRate(l, `dd if=/dev/vdb of=/dev/null bs=1M count=${mib} iflag=direct`, mib);
  return { write, read };
}

export async function runHostDisk(b: Bench, o: HostDiskOptions): Promise<void> {
  const { guest } = await benchRegistry(b);
  const dir = mkdtempSync('/var/tmp/vnb-hd-');
  b.cleanup.add(`hostDisk directory ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, 'root');
  mkdirSync(root);
  const { h, destroy } = await startHandler(b, { name: PART, config: { hostDiskRoots: [root] } });
  const vnPath = join(root, 'virtnode.img');
  const barePath = join(root, 'bare.img');
  // The stored VMI (defaults applied) gives the bare run the launcher's argv.
  const dry = await h.client.call<unknown, ApplyResponse__Output>('Apply', { manifest: hostDiskVMI('hd-bare', barePath, o.mib), dryRun: true });
  const bareVmi = JSON.parse((dry.objects[0] as Object__Output).json) as VirtualMachineInstance;
  execFileSync('truncate', ['-s', `${o.mib + 16}M`, barePath]);

  const vn: { write: number; read: number }[] = [];
  const bare: { write: number; read: number }[] = [];
  const peers = {
    virtnode: async (i: number) => vn.push(await virtnodeRound(b, h, `hd-vn-${i}`, vnPath, o.mib)),
    bare: async () => bare.push(await bareRound(b, bareVmi, guest.disk, barePath, o.mib)),
  };
  for (let i = 0; i < o.rounds; i++) {
    const order = i % 2 === 0 ? (['virtnode', 'bare'] as const) : (['bare', 'virtnode'] as const);
    for (const p of order) {
      await peers[p](i);
      b.log(`hostdisk round ${i + 1}/${o.rounds} ${p}: write ${(p === 'bare' ? bare : vn).at(-1)!.write.toFixed(1)} MiB/s, read ${(p === 'bare' ? bare : vn).at(-1)!.read.toFixed(1)} MiB/s`);
    }
  }
  await destroy();

  for (const kind of ['write', 'read'] as const) {
    const value = median(vn.map((r) => r[kind]));
    const base = median(bare.map((r) => r[kind]));
    const ratio = value / base;
    b.report.add({
      part: PART,
      name: `sequential 1 MiB ${kind}s in the guest (O_DIRECT, raw hostDisk, ${o.mib} MiB, median of ${o.rounds})`,
      value,
      unit: 'MiB/s',
      baseline: { name: 'bare QEMU, same -blockdev', value: base },
      ratio,
      target: { text: '>= 0.8x bare', pass: ratio >= 0.8 },
      detail: { virtnode: vn.map((r) => r[kind]), bare: bare.map((r) => r[kind]) },
    });
  }
  b.report.note(PART, 'both guests run under TCG with cache=none (O_DIRECT on the host file); virtnode hands QEMU the file as an fdset, bare QEMU opens it by path');
}

async function virtnodeRound(b: Bench, h: TestHandler, name: string, path: string, mib: number): Promise<{ write: number; read: number }> {
  const r = await h.cli(['apply', '-f', '-'], hostDiskVMI(name, path, mib));
  if (r.code !== 0) throw new Error(`apply ${name}: ${r.stderr}`);
  try {
    await h.waitPhase(name, 'Running', 120_000);
    const con = h.console(name);
    try {
      const line: Line = {
        write: (s) => con.send(s),
        output: () => con.output,
        wait: (re, from, timeoutMs) => con.expect(re, timeoutMs, from),
      };
      return await measure(line, mib);
    } finally {
      con.close();
    }
  } finally {
    const del = await h.cli(['delete', 'vmi', name, '--wait']);
    if (del.code !== 0) b.log(`delete ${name}: ${del.stderr}`);
  }
}

async function bareRound(b: Bench, vmi: VirtualMachineInstance, baseDisk: string, path: string, mib: number): Promise<{ write: number; read: number }> {
  const dir = mkdtempSync('/tmp/vnb-hdq-');
  mkdirSync(join(dir, 'qemu')); // QEMU's socket directory, which the launcher makes
  try {
    const overlay = join(dir, `${VOLUME}.qcow2`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', baseDisk, '-F', 'qcow2', overlay]);
    // What the handler prepares, but the file by path: the -blockdev chain is the same.
    const ctx: LaunchContext = { runDir: dir, accelerator: 'tcg', volumes: { [VOLUME]: { path: overlay, format: 'qcow2' }, [DATA]: { path, format: 'raw', directIo: true } } };
    const domain = vmiToDomain({ ...vmi, metadata: { ...vmi.metadata, uid: randomUUID() } }, ctx);
    const argv = buildArgv(domain);
    const qemu = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    const undo = b.cleanup.add('bare QEMU', () => void qemu.kill('SIGKILL'));
    let stderr = '';
    qemu.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
    const exited = new Promise<void>((r) => qemu.once('exit', () => r()));
    let qmp: Socket | undefined;
    let serial: Socket | undefined;
    try {
      qmp = await connectWhenReady(domain.qmpSocket, { everyMs: 5 });
      qmp.on('error', () => undefined);
      serial = await connectWhenReady(domain.serialSocket!, { everyMs: 5 });
      const line = socketLine(serial);
      qmp.write('{"execute":"qmp_capabilities"}\n{"execute":"cont"}\n');
      return await measure(line, mib);
    } catch (e) {
      throw new Error(`bare QEMU: ${(e as Error).message}; stderr: ${stderr.trim()}`);
    } finally {
      qmp?.destroy();
      serial?.destroy();
      qemu.kill('SIGKILL');
      await exited;
      await undo();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
