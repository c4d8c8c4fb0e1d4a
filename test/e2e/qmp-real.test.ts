// The QMP client and the argv builder against the real qemu-system-x86_64 (7.2 here),
// under TCG with no guest: QEMU starts paused (-S), so nothing boots, but every
// option is parsed, every device realised and every disk opened — which is what
// these tests ask of it.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Qmp, QmpClosedError, QmpCommandError, type QmpEvent } from '../../launcher/qmp/index.js';
import { buildArgv } from '../../launcher/domain/argv.js';
import { confinedArgv, prepareQemuView, qemuView, resolveQemuBinary, QEMU_ENV } from '../../launcher/domain/confine.js';
import { vmiToDomain } from '../../launcher/domain/convert.js';
import type { LaunchContext } from '../../proto/launch.js';
import { lifecycleArgv, lifecycleFromVMI } from '../../launcher/domain/devices/panic.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import { FIRMWARE_UUID, KERNEL_ARGS, context, gettingStarted, hostileDisk, kernelBoot, rngNoBalloonNoSerial, twoDisks } from '../unit/domain-fixtures.js';

const QEMU = process.env.VIRTNODE_QEMU ?? 'qemu-system-x86_64';

interface Running {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

function start(t: TestContext, argv: string[], env?: NodeJS.ProcessEnv): Running {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], ...(env ? { env } : {}) });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { child, exited, stderr: () => err };
}

function tempDir(t: TestContext, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `vn-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function connect(t: TestContext, path: string, q: Running): Promise<Qmp> {
  const qmp = await Qmp.connect(path, { timeoutMs: 15_000, until: q.exited }).catch((e: Error) => {
    throw new Error(`${e.message}; QEMU stderr: ${q.stderr()}`);
  });
  t.after(() => qmp.close());
  return qmp;
}

/** Records every event from the start, for checks on order. */
function record(qmp: Qmp): QmpEvent[] {
  const seen: QmpEvent[] = [];
  qmp.on('event', (ev) => seen.push(ev));
  return seen;
}

test('QMP against real QEMU: prelaunch, cont/RESUME, stop/STOP, system_reset/RESET, errors, getfd, quit/SHUTDOWN', async (t) => {
  const dir = tempDir(t, 'qmp-real');
  const sock = join(dir, 'qmp.sock');
  const t0 = performance.now();
  const q = start(t, [QEMU, '-S', '-machine', 'q35', '-accel', 'tcg', '-nodefaults', '-display', 'none', '-qmp', `unix:${sock},server=on,wait=off`]);
  const qmp = await connect(t, sock, q);
  const connectMs = performance.now() - t0;
  const events = record(qmp);

  assert.equal(qmp.version.major, 7);
  assert.ok(qmp.greeting.QMP.capabilities.includes('oob'));
  assert.deepEqual(await qmp.execute('query-status'), { status: 'prelaunch', running: false, singlestep: false });
  assert.deepEqual(await qmp.execute('query-kvm'), { enabled: false, present: existsSync('/dev/kvm') });
  const cpus = await qmp.execute('query-cpus-fast');
  assert.equal(cpus.length, 1);
  assert.equal(cpus[0]!.target, 'x86_64');
  assert.ok(cpus[0]!['thread-id'] > 0 && cpus[0]!['thread-id'] !== q.child.pid, 'the vCPU runs on its own host thread');
  const version = await qmp.execute('query-version');
  assert.deepEqual(version.qemu, qmp.version);

  const resumed = qmp.waitEvent('RESUME', { timeoutMs: 5000 });
  assert.deepEqual(await qmp.execute('cont'), {});
  const resume = await resumed;
  assert.ok(Math.abs(resume.time.getTime() - Date.now()) < 60_000, `event time ${resume.time.toISOString()} is QEMU's clock, now-ish`);
  assert.equal((await qmp.execute('query-status')).status, 'running');

  const stopped = qmp.waitEvent('STOP', { timeoutMs: 5000 });
  await qmp.execute('stop');
  await stopped;
  assert.deepEqual(await qmp.execute('query-status'), { status: 'paused', running: false, singlestep: false });

  const reset = qmp.waitEvent('RESET', { timeoutMs: 5000 });
  await qmp.execute('system_reset');
  assert.deepEqual((await reset).data, { guest: false, reason: 'host-qmp-system-reset' });

  await assert.rejects(qmp.execute('device_del', { id: 'nope' }), (e) => e instanceof QmpCommandError && e.message === "device_del: DeviceNotFound: Device 'nope' not found");
  await assert.rejects(qmp.execute('balloon', { value: 1 << 30 }), (e) => e instanceof QmpCommandError && e.errorClass === 'DeviceNotActive');

  // getfd: without an fd QEMU refuses; with one sent as SCM_RIGHTS it keeps it under the name.
  await assert.rejects(qmp.execute('getfd', { fdname: 'f0' }), (e) => e instanceof QmpCommandError && /No file descriptor supplied via SCM_RIGHTS/.test(e.desc));
  const fd = openSync('/dev/null', 'r');
  try {
    await qmp.sendFd(fd, 'f0');
    await qmp.execute('closefd', { fdname: 'f0' });
    await assert.rejects(qmp.execute('closefd', { fdname: 'f0' }), (e) => e instanceof QmpCommandError && /File descriptor named 'f0' not found/.test(e.desc));
  } finally {
    closeSync(fd);
  }

  // Round-trip cost of one command on this machine.
  const n = 200;
  const r0 = performance.now();
  for (let i = 0; i < n; i++) await qmp.execute('query-status');
  const perCommandMs = (performance.now() - r0) / n;
  t.diagnostic(`connect (spawn to negotiated) ${connectMs.toFixed(0)} ms; query-status round trip ${(perCommandMs * 1000).toFixed(0)} µs`);

  const shutdown = qmp.waitEvent('SHUTDOWN', { timeoutMs: 5000 });
  assert.deepEqual(await qmp.execute('quit'), {});
  assert.deepEqual((await shutdown).data, { guest: false, reason: 'host-qmp-quit' });
  assert.deepEqual(await q.exited, { code: 0, signal: null });
  await qmp.whenClosed();
  await assert.rejects(qmp.execute('query-status'), QmpClosedError);
  assert.deepEqual(
    events.map((e) => e.event),
    ['RESUME', 'STOP', 'RESET', 'SHUTDOWN'],
  );
  assert.equal(existsSync(sock), false, 'QEMU removed its socket');
});

test('commands pending when QEMU dies fail with QmpClosedError, each once', async (t) => {
  const dir = tempDir(t, 'qmp-kill');
  const sock = join(dir, 'qmp.sock');
  const q = start(t, [QEMU, '-S', '-machine', 'q35', '-accel', 'tcg', '-nodefaults', '-display', 'none', '-qmp', `unix:${sock},server=on,wait=off`]);
  const qmp = await connect(t, sock, q);
  // Frozen, QEMU answers nothing: one command is on the wire, two wait in the queue.
  q.child.kill('SIGSTOP');
  let settled = 0;
  const pending = [qmp.execute('query-status'), qmp.execute('query-block'), qmp.execute('query-cpus-fast')].map((p) => p.finally(() => settled++));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(settled, 0);
  q.child.kill('SIGKILL');
  for (const p of pending) await assert.rejects(p, (e) => e instanceof QmpClosedError && e.code === 'VN_UNAVAILABLE');
  assert.equal(settled, 3);
  assert.equal((await q.exited).signal, 'SIGKILL');
  await qmp.whenClosed();
});

test('panics: with our -action panic=pause QEMU reports GUEST_PANICKED and stays, paused; by default it exits', async (t) => {
  // No guest to panic: the ISA pvpanic port (0x505) is poked from HMP, which is what the
  // guest's pvpanic driver does. pvpanic-pci (our device) reports through the same code.
  for (const mode of ['ours', 'default'] as const) {
    const dir = tempDir(t, `panic-${mode}`);
    const sock = join(dir, 'qmp.sock');
    const action = mode === 'ours' ? lifecycleArgv(lifecycleFromVMI(gettingStarted())) : [];
    const q = start(t, [QEMU, '-S', '-machine', 'q35', '-accel', 'tcg', '-nodefaults', '-display', 'none', ...action, '-device', 'pvpanic', '-qmp', `unix:${sock},server=on,wait=off`]);
    const qmp = await connect(t, sock, q);
    const events = record(qmp);
    await qmp.execute('cont');
    const panicked = qmp.waitEvent('GUEST_PANICKED', { timeoutMs: 5000 });
    await qmp.execute('human-monitor-command', { 'command-line': 'o /b 0x505 1' }).catch(() => undefined);
    const ev = await panicked;
    if (mode === 'ours') {
      assert.equal(ev.data.action, 'pause');
      assert.deepEqual(await qmp.execute('query-status'), { status: 'guest-panicked', running: false, singlestep: false });
      await qmp.execute('quit');
      await q.exited;
      assert.deepEqual(events.map((e) => e.event), ['RESUME', 'GUEST_PANICKED', 'STOP', 'SHUTDOWN']);
    } else {
      assert.equal(ev.data.action, 'poweroff');
      assert.deepEqual(await q.exited, { code: 0, signal: null }, 'a panic exits QEMU like a poweroff');
      await qmp.whenClosed();
      assert.deepEqual(events.map((e) => (e.event === 'SHUTDOWN' ? `SHUTDOWN ${e.data.reason}` : e.event)), ['RESUME', 'GUEST_PANICKED', 'STOP', 'SHUTDOWN guest-panic']);
    }
  }
});

// ---- the argv builder's output, run for real -------------------------------------

/** A bzImage header QEMU's x86 loader accepts (boot protocol 2.15, loaded high); it never runs. */
function fakeKernel(path: string): void {
  const b = Buffer.alloc(8192);
  b[0x1f1] = 1; // setup_sects
  b.writeUInt16LE(0xaa55, 0x1fe);
  b.write('HdrS', 0x202, 'latin1');
  b.writeUInt16LE(0x020f, 0x206);
  b[0x211] = 0x01; // LOADED_HIGH
  b.writeUInt32LE(0x37ffffff, 0x22c); // initrd_addr_max
  b.writeUInt32LE(2047, 0x238); // cmdline_size
  writeFileSync(path, b);
}

function qemuImg(...args: string[]): void {
  execFileSync('qemu-img', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

interface Case {
  name: string;
  vmi: () => VirtualMachineInstance;
  /** Makes the images in `dir` and returns the context. */
  prepare: (dir: string, runDir: string) => LaunchContext;
  check: (qmp: Qmp, ctx: LaunchContext) => Promise<void>;
}

async function blockFiles(qmp: Qmp): Promise<Record<string, { file: string; format: string; ro: boolean; backing?: string }>> {
  const out: Record<string, { file: string; format: string; ro: boolean; backing?: string }> = {};
  for (const b of await qmp.execute('query-block')) {
    const dev = /\/machine\/peripheral\/([^/]+)\//.exec(b.qdev ?? '')?.[1];
    assert.ok(dev && b.inserted, JSON.stringify(b));
    out[dev] = { file: b.inserted.image.filename, format: b.inserted.image.format, ro: b.inserted.ro, ...(b.inserted.backing_file ? { backing: b.inserted.backing_file } : {}) };
  }
  return out;
}

const cases: Case[] = [
  {
    name: '(a) getting-started VM',
    vmi: gettingStarted,
    prepare: (dir, runDir) => {
      const disk = join(dir, 'containerdisk.qcow2');
      qemuImg('create', '-q', '-f', 'qcow2', disk, '16M');
      return context(runDir, { containerdisk: { path: disk, format: 'qcow2' } });
    },
    check: async (qmp, ctx) => {
      assert.deepEqual(await blockFiles(qmp), { 'ua-containerdisk': { file: ctx.volumes.containerdisk!.path, format: 'qcow2', ro: false } });
      assert.deepEqual(await qmp.execute('query-memory-size-summary'), { 'base-memory': 64_004_096, 'plugged-memory': 0 }, '64M rounded up to 8 KiB by QEMU');
      assert.deepEqual(await qmp.execute('query-name'), { name: 'default_vm-cirros' });
      const chardevs = (await qmp.execute('query-chardev')).map((c) => c.label).sort();
      assert.deepEqual(chardevs, ['charchannel0', 'charmonitor', 'charserial0']);
      assert.equal(await qmp.execute('qom-get', { path: '/machine/peripheral/channel0', property: 'name' }), 'org.qemu.guest_agent.0');
      assert.equal(await qmp.execute('qom-get', { path: '/machine/peripheral/balloon0', property: 'free-page-reporting' }), true);
      assert.equal(await qmp.execute('qom-get', { path: '/machine/peripheral/panic0', property: 'type' }), 'pvpanic-pci');
    },
  },
  {
    name: '(b) disk path with "," and "=" and hostile serials',
    vmi: hostileDisk,
    prepare: (dir, runDir) => {
      mkdirSync(join(dir, 'a,b=c'));
      const disk = join(dir, 'a,b=c', 'disk.qcow2');
      qemuImg('create', '-q', '-f', 'qcow2', disk, '16M');
      return context(runDir, { containerdisk: { path: disk, format: 'qcow2' } });
    },
    check: async (qmp, ctx) => {
      assert.deepEqual(await blockFiles(qmp), { 'ua-containerdisk': { file: ctx.volumes.containerdisk!.path, format: 'qcow2', ro: false } });
      assert.equal(await qmp.execute('qom-get', { path: '/machine/peripheral/ua-containerdisk', property: 'serial' }), 'S,N=1');
      // The SMBIOS serial carries ",uuid=0000…" after the real uuid: escaped, it stays the serial.
      assert.deepEqual(await qmp.execute('query-uuid'), { UUID: FIRMWARE_UUID });
    },
  },
  {
    name: '(c) kernelBoot with kernelArgs holding spaces, commas and "="',
    vmi: kernelBoot,
    prepare: (dir, runDir) => {
      mkdirSync(join(dir, 'k,1=2'));
      const kernel = join(dir, 'k,1=2', 'vmlinuz');
      const initrd = join(dir, 'k,1=2', 'initrd');
      fakeKernel(kernel);
      writeFileSync(initrd, Buffer.alloc(4096));
      const disk = join(dir, 'containerdisk.qcow2');
      qemuImg('create', '-q', '-f', 'qcow2', disk, '16M');
      return context(runDir, { containerdisk: { path: disk, format: 'qcow2' } }, { kernelBoot: { kernel, initrd } });
    },
    check: async (qmp, ctx) => {
      assert.equal(await qmp.execute('qom-get', { path: '/machine', property: 'kernel' }), ctx.kernelBoot!.kernel);
      assert.equal(await qmp.execute('qom-get', { path: '/machine', property: 'initrd' }), ctx.kernelBoot!.initrd);
      assert.equal(await qmp.execute('qom-get', { path: '/machine', property: 'append' }), KERNEL_ARGS);
    },
  },
  {
    name: '(d) rng, no balloon, no serial console',
    vmi: rngNoBalloonNoSerial,
    prepare: (dir, runDir) => {
      const disk = join(dir, 'containerdisk.qcow2');
      qemuImg('create', '-q', '-f', 'qcow2', disk, '16M');
      return context(runDir, { containerdisk: { path: disk, format: 'qcow2' } });
    },
    check: async (qmp) => {
      assert.equal(await qmp.execute('qom-get', { path: '/machine/peripheral/rng0', property: 'rng' }), '/objects/objrng0');
      await assert.rejects(qmp.execute('query-balloon'), (e) => e instanceof QmpCommandError && e.errorClass === 'DeviceNotActive');
      assert.deepEqual((await qmp.execute('query-chardev')).map((c) => c.label).sort(), ['charchannel0', 'charmonitor']);
    },
  },
  {
    name: '(e) two disks with bootOrder, a raw one and a qcow2 overlay over an explicit raw backing image',
    vmi: twoDisks,
    prepare: (dir, runDir) => {
      const data = join(dir, 'data.raw');
      const base = join(dir, 'base,1.raw');
      const root = join(dir, 'root.qcow2');
      qemuImg('create', '-q', '-f', 'raw', data, '1M');
      qemuImg('create', '-q', '-f', 'raw', base, '8M');
      qemuImg('create', '-q', '-f', 'qcow2', '-b', base, '-F', 'raw', root);
      return context(runDir, { data: { path: data, format: 'raw' }, root: { path: root, format: 'qcow2', backing: { path: base, format: 'raw' } } });
    },
    check: async (qmp, ctx) => {
      assert.deepEqual(await blockFiles(qmp), {
        'ua-data': { file: ctx.volumes.data!.path, format: 'raw', ro: false },
        'ua-root': { file: ctx.volumes.root!.path, format: 'qcow2', ro: false, backing: ctx.volumes.root!.backing!.path },
      });
      assert.equal(await qmp.execute('qom-get', { path: '/machine/peripheral/ua-root', property: 'bootindex' }), 1);
      assert.equal(await qmp.execute('qom-get', { path: '/machine/peripheral/ua-data', property: 'bootindex' }), 2);
    },
  },
  {
    name: '(f) every disk bus and disk option: sata, scsi, usb, cdroms, PCI address, iothreads, block sizes',
    vmi: everyBus,
    prepare: (dir, runDir) => {
      const volumes: LaunchContext['volumes'] = {};
      for (const d of everyBus().spec.domain.devices.disks!) {
        const path = join(dir, `${d.name}.${d.cdrom ? 'iso' : 'qcow2'}`);
        if (d.cdrom) writeFileSync(path, Buffer.alloc(1 << 20));
        else qemuImg('create', '-q', '-f', 'qcow2', path, '16M');
        volumes[d.name] = { path, format: d.cdrom ? 'raw' : 'qcow2' };
      }
      return context(runDir, volumes);
    },
    check: async (qmp) => {
      const get = (id: string, property: string) => qmp.execute('qom-get', { path: `/machine/peripheral/${id}`, property });
      // Every disk has its block node; query-block's qdev differs by device (the bare id for IDE and SCSI).
      const nodes = (await qmp.execute('query-block')).map((b) => [b.qdev, b.inserted?.['node-name'], b.inserted?.ro]);
      assert.deepEqual(nodes, [
        ['/machine/peripheral/ua-pinned/virtio-backend', 'disk1', false],
        ['/machine/peripheral/ua-containerdisk/virtio-backend', 'disk0', false],
        ['ua-sata', 'disk2', false],
        ['ua-scsi', 'disk3', false],
        ['/machine/peripheral/ua-usb/ua-usb.0/legacy[0]', 'disk4', true],
        ['ua-cd', 'disk5', true],
        ['ua-scsicd', 'disk6', true],
      ]);
      assert.equal(await get('ua-pinned', 'addr'), 0x0a << 3, 'devfn of slot 0a, function 0');
      assert.equal(await get('ua-pinned', 'iothread'), '/objects/iothread2');
      assert.equal(await get('ua-containerdisk', 'iothread'), '/objects/iothread1');
      assert.equal(await get('ua-containerdisk', 'num-queues'), 2);
      assert.deepEqual([await get('ua-sata', 'werror'), await get('ua-sata', 'rerror'), await get('ua-sata', 'serial')], ['enospc', 'auto', 'SN-1']);
      assert.deepEqual([await get('ua-scsi', 'share-rw'), await get('ua-scsi', 'logical_block_size'), await get('ua-scsi', 'physical_block_size'), await get('ua-scsi', 'lun')], [true, 512, 4096, 1]);
      assert.equal(await get('ua-usb', 'port'), '1');
      assert.equal(await get('ua-cd', 'type'), 'ide-cd');
    },
  },
];

/** A disk on every bus and a cdrom on each that takes one, with most disk options, two vCPUs. */
function everyBus(): VirtualMachineInstance {
  const v = gettingStarted();
  v.spec.domain.cpu = { sockets: 1, cores: 2, threads: 1 };
  v.spec.domain.ioThreadsPolicy = 'shared';
  v.spec.domain.devices.blockMultiQueue = true;
  v.spec.domain.devices.disks!.push(
    { name: 'pinned', disk: { bus: 'virtio', pciAddress: '0000:00:0a.0' }, dedicatedIOThread: true, cache: 'none', io: 'native' },
    { name: 'sata', disk: { bus: 'sata' }, serial: 'SN-1', errorPolicy: 'enospace' },
    { name: 'scsi', disk: { bus: 'scsi' }, shareable: true, blockSize: { custom: { logical: 512, physical: 4096 } } },
    { name: 'usb', disk: { bus: 'usb', readonly: true } },
    { name: 'cd', cdrom: { bus: 'sata' } },
    { name: 'scsicd', cdrom: { bus: 'scsi' } },
  );
  for (const d of v.spec.domain.devices.disks!.slice(1)) v.spec.volumes!.push({ name: d.name, emptyDisk: { capacity: '16Mi' } });
  return v;
}

for (const c of cases) {
  test(`QEMU accepts buildArgv for ${c.name}`, async (t) => {
    const dir = tempDir(t, 'argv');
    // The run directory holds ',' and '=' too: the chardev paths must be escaped right.
    const runDir = join(dir, 'run,x=y');
    mkdirSync(runDir);
    const ctx = c.prepare(dir, runDir);
    const domain = vmiToDomain(c.vmi(), ctx);
    const argv = buildArgv(domain, { qemuBinary: resolveQemuBinary(QEMU) });
    // Confined as the launcher starts it: every case's files must reach QEMU's view.
    const view = qemuView(domain, runDir);
    prepareQemuView(view);
    const t0 = performance.now();
    const q = start(t, confinedArgv(argv, view), QEMU_ENV);
    const qmp = await connect(t, domain.qmpSocket, q);
    t.diagnostic(`spawn to QMP ready: ${(performance.now() - t0).toFixed(0)} ms`);
    assert.equal((await qmp.execute('query-status')).status, 'prelaunch');
    // -sandbox on: QEMU runs under a seccomp filter (mode 2), as 107 with no capabilities.
    const status = readFileSync(`/proc/${q.child.pid}/status`, 'utf8');
    assert.match(status, /^Seccomp:\s+2$/m);
    assert.match(status, /^Uid:\s+107\s+107\s+107\s+107$/m);
    assert.match(status, /^CapEff:\s+0+$/m);
    await c.check(qmp, ctx);
    // The guest (SeaBIOS, no bootable disk) runs for a while under the seccomp sandbox.
    await qmp.execute('cont');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await qmp.execute('query-status')).status, 'running');
    if (domain.serialSocket) assert.ok(existsSync(domain.serialSocket));
    assert.ok(existsSync(domain.guestAgent!.socket));
    await qmp.execute('quit');
    assert.deepEqual(await q.exited, { code: 0, signal: null }, q.stderr());
    assert.equal(q.stderr(), '', 'QEMU printed no warning');
    for (const s of [domain.qmpSocket, domain.serialSocket, domain.guestAgent!.socket]) if (s) assert.equal(existsSync(s), false, `${s} removed`);
  });
}
