// The test guest built by test/guest/build.sh, booted by a bare QEMU under TCG:
// the disk in the seed VM's 61 MiB, the kernelBoot pair without a disk, and the
// containerDisk image pushed to a real registry. What the other e2e tests take
// for granted about the guest is proved here first.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import {
  ensureGuest, startRegistry, pushImage, guestLogin, guestMemory, kernelBootArgs, type GuestPaths,
} from '../guest/index.js';

let guest: GuestPaths;
let tmp: string;

before(async () => {
  guest = await ensureGuest();
  tmp = mkdtempSync(join(tmpdir(), 'virtnode-guest-test-'));
});

after(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** A guest under a bare QEMU: serial console on stdio, QMP on a unix socket. */
class Guest {
  readonly proc: ChildProcess;
  readonly started = Date.now();
  readonly events: Array<{ event: string; data?: Record<string, unknown> }> = [];
  output = '';
  #qmp: Socket | undefined;
  #qmpBuf = '';
  #replies: Array<(r: { return?: unknown; error?: { desc: string } }) => void> = [];
  readonly exited: Promise<number | null>;
  readonly #qmpPath: string;

  /** Starts QEMU and connects QMP at once: events reach only a connected monitor. */
  static async start(name: string, args: string[]): Promise<Guest> {
    const g = new Guest(name, args);
    try {
      await g.qmp('query-status');
    } catch (e) {
      await g.kill();
      throw e;
    }
    return g;
  }

  private constructor(name: string, args: string[]) {
    const qmpPath = join(tmp, `${name}.qmp`);
    this.proc = spawn('qemu-system-x86_64', [
      '-machine', 'q35', '-accel', 'tcg', '-cpu', 'qemu64,+arat', '-nodefaults', '-no-user-config',
      '-display', 'none', '-chardev', 'stdio,id=ser0,signal=off', '-serial', 'chardev:ser0',
      '-qmp', `unix:${qmpPath},server=on,wait=off`, ...args,
    ], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (d: Buffer) => { this.output += d.toString('latin1'); });
    this.proc.stderr!.on('data', (d: Buffer) => { this.output += d.toString('latin1'); });
    this.exited = new Promise((r) => this.proc.on('exit', (code) => r(code)));
    this.#qmpPath = qmpPath;
  }

  async qmp(execute: string, args?: Record<string, unknown>): Promise<unknown> {
    if (!this.#qmp) {
      const deadline = Date.now() + 10_000;
      while (!existsSync(this.#qmpPath)) {
        if (Date.now() > deadline) throw new Error('QMP socket never appeared');
        await sleep(20);
      }
      const sock = connect(this.#qmpPath);
      this.#qmp = sock;
      sock.on('data', (d) => {
        this.#qmpBuf += d.toString();
        let nl: number;
        while ((nl = this.#qmpBuf.indexOf('\n')) >= 0) {
          const msg = JSON.parse(this.#qmpBuf.slice(0, nl));
          this.#qmpBuf = this.#qmpBuf.slice(nl + 1);
          if (msg.event) this.events.push(msg);
          else if (msg.QMP === undefined) this.#replies.shift()?.(msg);
        }
      });
      sock.on('error', () => {});
      await this.#send('qmp_capabilities');
    }
    return this.#send(execute, args);
  }

  #send(execute: string, args?: Record<string, unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#replies.push((r) => (r.error ? reject(new Error(`${execute}: ${r.error.desc}`)) : resolve(r.return)));
      this.#qmp!.write(JSON.stringify({ execute, arguments: args }) + '\n');
    });
  }

  /** Waits until the serial output after `from` matches; returns the text up to the match's end. */
  async expect(pattern: RegExp | string, timeoutMs = 30_000, from = 0): Promise<{ text: string; end: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.output.slice(from);
      const idx = typeof pattern === 'string' ? rest.indexOf(pattern) : rest.search(pattern);
      if (idx >= 0) {
        const len = typeof pattern === 'string' ? pattern.length : rest.slice(idx).match(pattern)![0].length;
        return { text: rest.slice(0, idx + len), end: from + idx + len };
      }
      if (this.proc.exitCode !== null || Date.now() > deadline) {
        assert.fail(`no ${String(pattern)} on the serial console within ${timeoutMs} ms; output tail:\n${this.output.slice(-1500)}`);
      }
      await sleep(20);
    }
  }

  send(text: string): void {
    this.proc.stdin!.write(text);
  }

  /** Logs in on the serial console; returns the offset just after the shell prompt. */
  async login(user: string, password: string, prompt: string, from = 0): Promise<number> {
    const l = await this.expect(/login: $/, 60_000, from);
    this.send(`${user}\n`);
    const p = await this.expect('Password: ', 10_000, l.end);
    this.send(`${password}\n`);
    return (await this.expect(prompt, 10_000, p.end)).end;
  }

  async run(command: string, prompt: string, from: number): Promise<{ out: string; end: number }> {
    this.send(`${command}\n`);
    const r = await this.expect(prompt, 20_000, from);
    return { out: r.text, end: r.end };
  }

  async kill(): Promise<void> {
    this.#qmp?.destroy();
    if (this.proc.exitCode === null) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no result in ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

/** A throwaway qcow2 overlay over the cached disk, as a containerDisk is used. */
function overlay(name: string): string {
  const path = join(tmp, `${name}.qcow2`);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', guest.disk, path]);
  return path;
}

function diskArgs(path: string): string[] {
  return [
    '-blockdev', JSON.stringify({ driver: 'file', filename: path, 'node-name': 'file0' }),
    '-blockdev', JSON.stringify({ driver: 'qcow2', file: 'file0', 'node-name': 'disk0' }),
    '-device', JSON.stringify({ driver: 'virtio-blk-pci', drive: 'disk0', bootindex: 1 }),
  ];
}

test('the disk boots to a login prompt in 61 MiB, logs in, reboots on Ctrl-Alt-Del and powers off on the ACPI button', { timeout: 90_000 }, async (t) => {
  const g = await Guest.start('disk', ['-m', `${guestMemory.disk}b`, ...diskArgs(overlay('disk'))]);
  try {
    const banner = await g.expect(guestLogin.banner, 60_000);
    const prompt = await g.expect(/login: $/, 10_000, banner.end);
    t.diagnostic(`disk: login prompt ${Date.now() - g.started} ms after QEMU started (-m ${guestMemory.disk}b)`);
    assert.match(prompt.text, /\n\r?cirros login: $/);

    let at = await g.login(guestLogin.user, guestLogin.password, guestLogin.userPrompt);
    let r = await g.run('echo $((6*7))', guestLogin.userPrompt, at);
    assert.match(r.out, /\r?\n42\r?\n/);
    r = await g.run('id -un; grep MemTotal /proc/meminfo', guestLogin.userPrompt, r.end);
    assert.match(r.out, /\ncirros\r?\n/);
    const memKiB = Number(/MemTotal:\s+(\d+) kB/.exec(r.out)?.[1]);
    assert.ok(memKiB > 0 && memKiB < 64_000_000 / 1024, `MemTotal ${memKiB} kB is below the 61 MiB of RAM`);
    r = await g.run('mount | grep " / "', guestLogin.userPrompt, r.end);
    assert.match(r.out, /\/dev\/vda1 on \/ type ext4 \(rw/);

    // Ctrl-Alt-Del goes to busybox init, which reboots: the banner comes again.
    await g.qmp('send-key', { keys: [{ type: 'qcode', data: 'ctrl' }, { type: 'qcode', data: 'alt' }, { type: 'qcode', data: 'delete' }] });
    const again = await g.expect(guestLogin.banner, 60_000, r.end);
    await g.expect(/login: $/, 10_000, again.end);
    assert.ok(g.events.some((e) => e.event === 'RESET'), 'QEMU saw the guest reset');

    // The ACPI power button (what `virtnode stop` presses): acpid runs poweroff.
    await g.qmp('system_powerdown');
    assert.equal(await withTimeout(g.exited, 30_000, 'QEMU exit after system_powerdown'), 0);
    await sleep(50);
    const shutdown = g.events.find((e) => e.event === 'SHUTDOWN');
    assert.equal(shutdown?.data?.guest, true, 'the guest powered itself off');
  } finally {
    await g.kill();
  }
});

test('the kernelBoot pair boots without a disk, logs in as root and powers off', { timeout: 60_000 }, async (t) => {
  assert.equal(readFileSync(join(guest.cacheDir, 'kernel-args'), 'utf8').trim(), kernelBootArgs, 'index.ts and build.sh agree on the kernel arguments');
  const g = await Guest.start('kboot', ['-m', `${guestMemory.kernelBoot}b`, '-kernel', guest.vmlinuz, '-initrd', guest.initrd, '-append', kernelBootArgs]);
  try {
    await g.expect(guestLogin.banner, 60_000);
    t.diagnostic(`kernelBoot: banner ${Date.now() - g.started} ms after QEMU started (-m ${guestMemory.kernelBoot}b)`);
    const at = await g.login('root', guestLogin.rootPassword, guestLogin.rootPrompt);
    let r = await g.run('echo $((6*7))', guestLogin.rootPrompt, at);
    assert.match(r.out, /\r?\n42\r?\n/);
    r = await g.run('cat /proc/cmdline; ls /dev/vda 2>&1', guestLogin.rootPrompt, r.end);
    assert.ok(r.out.includes(kernelBootArgs), 'booted with the kernelBoot arguments');
    assert.match(r.out, /No such file or directory/, 'no disk attached');
    g.send('poweroff\n');
    assert.equal(await withTimeout(g.exited, 30_000, 'QEMU exit after poweroff'), 0);
  } finally {
    await g.kill();
  }
});

test('a guest kernel panic reaches QEMU through pvpanic-pci as GUEST_PANICKED', { timeout: 60_000 }, async () => {
  const g = await Guest.start('panic', ['-m', `${guestMemory.disk}b`, '-action', 'panic=pause', '-device', 'pvpanic-pci', ...diskArgs(overlay('panic'))]);
  try {
    const at = await g.login('root', guestLogin.rootPassword, guestLogin.rootPrompt);
    const r = await g.run('lsmod | grep -c "^pvpanic_pci "', guestLogin.rootPrompt, at);
    assert.match(r.out, /\n1\r?\n/, 'the pvpanic_pci module is loaded by coldplug');
    g.send('echo c > /proc/sysrq-trigger\n');
    const deadline = Date.now() + 20_000;
    while (!g.events.some((e) => e.event === 'GUEST_PANICKED') && Date.now() < deadline) await sleep(50);
    const panicked = g.events.find((e) => e.event === 'GUEST_PANICKED');
    assert.equal(panicked?.data?.action, 'pause');
    assert.equal(((await g.qmp('query-status')) as { status: string }).status, 'guest-panicked');
  } finally {
    await g.kill();
  }
});

/** Entry names, owners and modes of a gzipped tar blob. */
async function tarEntries(blob: string): Promise<Array<{ path: string; uid: number; gid: number; mode: number; size: number }>> {
  const entries: Array<{ path: string; uid: number; gid: number; mode: number; size: number }> = [];
  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      onReadEntry: (e: ReadEntry) => {
        entries.push({ path: e.path, uid: e.uid ?? -1, gid: e.gid ?? -1, mode: (e.mode ?? 0) & 0o7777, size: e.size ?? 0 });
        e.resume();
      },
    });
    parser.on('end', () => resolve());
    parser.on('error', reject);
    Readable.from([readFileSync(blob)]).pipe(createGunzip()).pipe(parser);
  });
  return entries;
}

function layoutManifest(layout: string): { digest: string; manifest: { config: { digest: string }; layers: Array<{ digest: string; mediaType: string }> } } {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  assert.equal(index.manifests.length, 1);
  const digest: string = index.manifests[0].digest;
  const manifest = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length)), 'utf8'));
  return { digest, manifest };
}

test('the OCI layouts hold what KubeVirt expects, and a real registry serves them after skopeo pushes them', { timeout: 60_000 }, async () => {
  const blob = (layout: string, digest: string) => join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));

  const cd = layoutManifest(guest.ociContainerDisk);
  assert.equal(cd.manifest.layers.length, 1);
  assert.equal(cd.manifest.layers[0]!.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
  const cdEntries = await tarEntries(blob(guest.ociContainerDisk, cd.manifest.layers[0]!.digest));
  const qcow2 = cdEntries.find((e) => e.path === 'disk/disk.qcow2');
  assert.ok(qcow2, `disk/disk.qcow2 in the layer (entries: ${cdEntries.map((e) => e.path).join(', ')})`);
  assert.deepEqual([qcow2.uid, qcow2.gid, qcow2.mode], [107, 107, 0o440]);
  assert.equal(qcow2.size, readFileSync(guest.disk).length);
  const config = JSON.parse(readFileSync(blob(guest.ociContainerDisk, cd.manifest.config.digest), 'utf8'));
  assert.equal(config.architecture, 'amd64');
  assert.equal(config.os, 'linux');

  const kb = layoutManifest(guest.ociKernelBoot);
  const kbEntries = (await tarEntries(blob(guest.ociKernelBoot, kb.manifest.layers[0]!.digest))).map((e) => e.path);
  assert.ok(kbEntries.includes('boot/vmlinuz') && kbEntries.includes('boot/initrd.img'), kbEntries.join(', '));

  const reg = await startRegistry();
  try {
    const dest = `${reg.host}/kubevirt/cirros-container-disk-demo:latest`;
    const pushed = await pushImage(guest.ociContainerDisk, dest);
    assert.equal(pushed, cd.digest, 'skopeo pushed the layout manifest unchanged');
    const res = await fetch(`http://${reg.host}/v2/kubevirt/cirros-container-disk-demo/manifests/latest`, {
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-content-digest'), cd.digest);
    const served = (await res.json()) as typeof cd.manifest;
    assert.equal(served.layers[0]!.digest, cd.manifest.layers[0]!.digest);
    const layer = await fetch(`http://${reg.host}/v2/kubevirt/cirros-container-disk-demo/blobs/${served.layers[0]!.digest}`, { method: 'HEAD' });
    assert.equal(layer.status, 200);

    assert.equal(await pushImage(guest.ociKernelBoot, `${reg.host}/virtnode/test-kernel-boot:latest`), kb.digest);
  } finally {
    await reg.stop();
  }
  // stop() ends the registry and removes its storage.
  const res = await fetch(`http://${reg.host}/v2/`).catch((e: unknown) => e);
  assert.ok(res instanceof Error, 'the registry no longer answers');
});
