// End-to-end harness: a real handler process (standalone mode, TCG allowed) with
// its own state/run directories and cgroup root, a real OCI registry holding the
// test guest as KubeVirt's demo image, and helpers to watch VMIs and drive serial
// consoles. Everything it starts it also stops, and `assertNothingLeft` checks
// that no VM left a process, cgroup, socket or disk behind.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { connectHandler, type HandlerClient } from '../../handler/cli/client.js';
import type { VirtualMachine, VirtualMachineInstance, VMIPhase } from '../../proto/vmi/types.js';
import type { WatchEvent__Output } from '../../proto/generated/virtnode/handler/v1/WatchEvent.js';
import type { ConsoleOutput__Output } from '../../proto/generated/virtnode/handler/v1/ConsoleOutput.js';
import type { ConsoleInput } from '../../proto/generated/virtnode/handler/v1/ConsoleInput.js';
import type { Object__Output } from '../../proto/generated/virtnode/handler/v1/Object.js';
import { ensureGuest, startRegistry, pushImage, type GuestPaths } from '../guest/index.js';
import { assertConformsToKubeVirt, checked } from '../conformance/assert.js';
import { KUBEVIRT_RELEASE } from '../../proto/vmi/kubevirt-schema.js';
import { detectCgroups, VmCgroup } from '../../handler/sandbox/cgroup.js';
import { podNames } from '../../handler/network/index.js';

export const ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const HANDLER = join(ROOT, 'dist', 'handler', 'main.js');
/**
 * Node flags the handler runs with everywhere (Dockerfile.handler, examples/demo.sh):
 * a 4 MiB young generation instead of 16 MiB keeps ~35 MiB of garbage headroom out
 * of its RSS at 250 VMIs (test/bench scale) for a few more, short, scavenges.
 */
export const HANDLER_NODE_FLAGS = ['--max-semi-space-size=4'];
export const CLI = join(ROOT, 'dist', 'handler', 'cli', 'main.js');
export const DEMO_IMAGE = 'quay.io/kubevirt/cirros-container-disk-demo';
export const KERNEL_IMAGE = 'quay.io/virtnode/test-kernel-boot';

export interface Registry {
  host: string;
  stop(): Promise<void>;
}

let registry: Promise<{ registry: Registry; guest: GuestPaths }> | undefined;

/** One registry per test file, holding the demo disk image and the kernelBoot image. */
export function testRegistry(): Promise<{ registry: Registry; guest: GuestPaths }> {
  registry ??= (async () => {
    const guest = await ensureGuest();
    const reg = await startRegistry();
    await pushImage(guest.ociContainerDisk, `${reg.host}/kubevirt/cirros-container-disk-demo:latest`);
    await pushImage(guest.ociKernelBoot, `${reg.host}/virtnode/test-kernel-boot:latest`);
    return { registry: reg, guest };
  })();
  return registry;
}

export async function stopRegistry(): Promise<void> {
  if (!registry) return;
  const r = await registry;
  registry = undefined;
  await r.registry.stop();
}

/**
 * One handler (and the shared test registry) for a whole test file: started in a
 * `before` hook, destroyed with everything it made in an `after` hook.
 */
export function useTestHandler(set: (h: TestHandler) => void, opts: { extraArgs?: string[]; started?: (h: TestHandler) => Promise<void> } = {}): void {
  let h: TestHandler | undefined;
  // One hook: node:test gives no order between several top-level before() hooks.
  before(async () => {
    const { registry } = await testRegistry();
    h = new TestHandler({ registryHost: registry.host, extraArgs: opts.extraArgs });
    set(h);
    await h.start();
    await opts.started?.(h);
  });
  after(async () => {
    await h?.destroy();
    await stopRegistry();
    if (checked.size) console.log(`# KubeVirt ${KUBEVIRT_RELEASE} conformance: ${[...checked].map(([k, n]) => `${n} ${k}`).join(', ')} objects checked`);
  });
}

export class TestHandler {
  readonly stateDir: string;
  readonly runDir: string;
  readonly socket: string;
  readonly cgroupRoot: string;
  readonly logFile: string;
  #proc: ChildProcess | undefined;
  #client: HandlerClient | undefined;
  #extraArgs: string[];
  #registryHost: string;
  /** This handler's own pod network, apart from any other handler on the machine. */
  readonly net: { bridge: string; cidr: string; gateway: string; nftTable: string; prefix: string };

  /**
   * `stateDir` (made if missing) puts the state on a filesystem of the caller's
   * choosing, and `logFile` keeps the log off it (a benchmark fills that filesystem).
   */
  constructor(opts: { registryHost: string; extraArgs?: string[]; stateDir?: string; logFile?: string }) {
    // Short paths: unix socket paths are limited to 108 bytes.
    this.runDir = mkdtempSync('/tmp/vnr-');
    if (opts.stateDir) mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
    this.stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'vn-state-'));
    this.socket = join(this.runDir, 'virtnode.sock');
    this.cgroupRoot = `vn-test-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
    this.logFile = opts.logFile ?? join(this.stateDir, 'handler.log');
    this.#extraArgs = opts.extraArgs ?? [];
    this.#registryHost = opts.registryHost;
    const n = 100 + Math.floor(Math.random() * 150);
    const tag = Math.random().toString(36).slice(2, 6);
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    this.net = {
      bridge: `vnt${tag}`,
      cidr: `10.250.${n}.0/24`,
      gateway: `10.250.${n}.1`,
      nftTable: `vntest_${tag}`,
      prefix: `t${letters[Math.floor(Math.random() * 26)]}${letters[Math.floor(Math.random() * 26)]}`,
    };
  }

  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  async start(): Promise<HandlerClient> {
    const { openSync, closeSync } = await import('node:fs');
    const out = openSync(this.logFile, 'a');
    this.#proc = spawn(
      process.execPath,
      [
        ...HANDLER_NODE_FLAGS,
        HANDLER,
        '--state-dir', this.stateDir,
        '--run-dir', this.runDir,
        '--allow-emulation',
        '--cgroup-root', this.cgroupRoot,
        '--registry-mirror', `quay.io=http://${this.#registryHost}`,
        '--pod-cidr', this.net.cidr,
        '--pod-bridge', this.net.bridge,
        '--pod-nft-table', this.net.nftTable,
        '--pod-name-prefix', this.net.prefix,
        '--log-level', 'debug',
        ...this.#extraArgs,
      ],
      { stdio: ['ignore', out, out] },
    );
    closeSync(out);
    const end = Date.now() + 20_000;
    for (;;) {
      if (this.#proc.exitCode !== null) throw new Error(`handler exited at start:\n${this.log().slice(-3000)}`);
      try {
        this.#client = await connectHandler({ socket: this.socket, timeoutMs: 1000 });
        return this.#client;
      } catch {
        if (Date.now() > end) throw new Error(`handler did not come up:\n${this.log().slice(-3000)}`);
        await sleep(100);
      }
    }
  }

  get client(): HandlerClient {
    if (!this.#client) throw new Error('handler not started');
    return this.#client;
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** SIGKILL, as a crash or an OOM kill would. */
  async kill9(): Promise<void> {
    this.#client?.close();
    this.#client = undefined;
    const p = this.#proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    this.#client?.close();
    this.#client = undefined;
    const p = this.#proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await Promise.race([exited, sleep(5000).then(() => p.kill('SIGKILL'))]);
  }

  /** Stops the handler, kills whatever its VMs left, and removes every directory. */
  async destroy(): Promise<void> {
    await this.stop();
    try {
      const layout = detectCgroups({ root: this.cgroupRoot });
      for (const name of VmCgroup.list(layout)) await VmCgroup.open(layout, name).destroy({ timeoutMs: 5000 }).catch(() => undefined);
      for (const h of layout.hierarchies) rmSync(h.vmRootDir, { recursive: false, force: true });
    } catch {
      /* no cgroups */
    }
    for (const h of cgroupRootDirs(this.cgroupRoot)) {
      try {
        execFileSync('rmdir', [h]);
      } catch {
        /* gone or busy */
      }
    }
    // The node side of this handler's pod network: its bridge and nft table.
    for (const cmd of [['ip', 'link', 'del', this.net.bridge], ['nft', 'delete', 'table', 'inet', this.net.nftTable]]) {
      try {
        execFileSync(cmd[0]!, cmd.slice(1), { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    }
    for (const ns of netnsList().filter((n) => n.startsWith(`${this.net.prefix}-`))) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        /* gone */
      }
    }
    rmSync(this.runDir, { recursive: true, force: true });
    rmSync(this.stateDir, { recursive: true, force: true });
  }

  /**
   * Runs the virtnode CLI against this handler. What `get ... -o json` prints must
   * conform to KubeVirt's schema.
   */
  async cli(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    const r = await this.#cli(args, input);
    const o = args.indexOf('-o');
    if (r.code === 0 && args[0] === 'get' && args[o + 1] === 'json' && o > 0) {
      const kind = /^vms?$|^virtualmachines?$/i.test(args[1] ?? '') ? 'VirtualMachine' : /^vmis?$|^virtualmachineinstances?$/i.test(args[1] ?? '') ? 'VirtualMachineInstance' : undefined;
      if (kind) assertConformsToKubeVirt(kind, JSON.parse(r.stdout));
    }
    return r;
  }

  #cli(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const p = spawn(process.execPath, [CLI, '--socket', this.socket, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (b) => (stdout += b));
      p.stderr.on('data', (b) => (stderr += b));
      p.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      p.stdin.end(input ?? '');
    });
  }

  async getVMI(name: string, ns = 'default'): Promise<VirtualMachineInstance | undefined> {
    try {
      const o = await this.client.call<unknown, Object__Output>('Get', { kind: 'vmi', namespace: ns, name });
      return conforming<VirtualMachineInstance>(o.json);
    } catch (e) {
      if ((e as { code?: string }).code === 'VN_NOT_FOUND') return undefined;
      throw e;
    }
  }

  async getVM(name: string, ns = 'default'): Promise<VirtualMachine | undefined> {
    try {
      const o = await this.client.call<unknown, Object__Output>('Get', { kind: 'vm', namespace: ns, name });
      return conforming<VirtualMachine>(o.json);
    } catch (e) {
      if ((e as { code?: string }).code === 'VN_NOT_FOUND') return undefined;
      throw e;
    }
  }

  /** Polls until `pred` holds for the VMI (or its absence), with a clear failure. */
  async waitVMI(name: string, pred: (v: VirtualMachineInstance | undefined) => boolean, what: string, timeoutMs = 90_000): Promise<VirtualMachineInstance | undefined> {
    const end = Date.now() + timeoutMs;
    let last: VirtualMachineInstance | undefined;
    for (;;) {
      last = await this.getVMI(name);
      if (pred(last)) return last;
      if (Date.now() > end) {
        throw new Error(`timed out waiting for VMI ${name} to be ${what}; last: ${JSON.stringify(last?.status)}\nhandler log tail:\n${this.log().slice(-4000)}`);
      }
      await sleep(200);
    }
  }

  waitPhase(name: string, phase: VMIPhase, timeoutMs?: number): Promise<VirtualMachineInstance> {
    return this.waitVMI(name, (v) => v?.status?.phase === phase, phase, timeoutMs) as Promise<VirtualMachineInstance>;
  }

  async waitVM(name: string, pred: (v: VirtualMachine | undefined) => boolean, what: string, timeoutMs = 90_000): Promise<VirtualMachine | undefined> {
    const end = Date.now() + timeoutMs;
    let last: VirtualMachine | undefined;
    for (;;) {
      last = await this.getVM(name);
      if (pred(last)) return last;
      if (Date.now() > end) throw new Error(`timed out waiting for VM ${name} to be ${what}; last: ${JSON.stringify(last?.status)}`);
      await sleep(200);
    }
  }

  /** Opens the serial console of a VMI. */
  console(name: string, ns = 'default'): ConsoleSession {
    return new ConsoleSession(this.client, ns, name);
  }

  /**
   * Waits (bounded) until nothing of `uid` is left, then asserts it: a VMI reports
   * its final phase before its sandbox is gone, as a pod is Succeeded while it still
   * terminates.
   */
  async nothingLeft(uid: string, timeoutMs = 20_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        this.assertNothingLeft(uid);
        return;
      } catch (e) {
        if (Date.now() > end) throw e;
        await sleep(200);
      }
    }
  }

  /** Asserts the handler left nothing of `uid` behind: processes, cgroup, sockets, disks, pod network. */
  assertNothingLeft(uid: string): void {
    const procs = pgrepAll(uid);
    assert.deepEqual(procs, [], `processes of VMI ${uid} left behind: ${procs.join('; ')}`);
    for (const d of cgroupRootDirs(this.cgroupRoot)) {
      assert.ok(!existsSync(join(d, uid)), `cgroup ${join(d, uid)} left behind`);
    }
    assert.ok(!existsSync(join(this.runDir, 'vmis', uid)), `run directory of ${uid} left behind`);
    const disks = join(this.stateDir, 'vmis', uid, 'disks');
    assert.ok(!existsSync(disks), `disks of ${uid} left behind: ${existsSync(disks) ? readdirSync(disks).join(', ') : ''}`);
    // The pod network: namespace (with its tap and bridge), node veth, lease.
    const names = podNames(uid, this.net.prefix);
    assert.ok(!netnsList().includes(names.netns), `network namespace ${names.netns} left behind`);
    assert.ok(!existsSync(`/sys/class/net/${names.hostVeth}`), `veth ${names.hostVeth} left behind`);
    const ipam = join(this.stateDir, 'network', 'ipam.json');
    if (existsSync(ipam)) {
      const leases = (JSON.parse(readFileSync(ipam, 'utf8')) as { leases: Record<string, { owner: string }> }).leases;
      assert.ok(!Object.values(leases).some((l) => l.owner === uid), `pod address lease of ${uid} left behind`);
    }
  }
}

/** Every cgroup directory named `root` under this machine's cgroup mounts. */
export function cgroupRootDirs(root: string): string[] {
  try {
    return detectCgroups({ root }).hierarchies.map((h) => h.vmRootDir).filter((d) => existsSync(d) && statSync(d).isDirectory());
  } catch {
    return [];
  }
}

export function netnsList(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}

/** Command lines of every process whose argv mentions `needle`. */
export function pgrepAll(needle: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z' && cmd.includes(needle)) out.push(`${pid}: ${cmd.slice(0, 200)}`);
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A serial console over the handler's Console stream, with expect-style helpers. */
export class ConsoleSession {
  #stream: grpc.ClientDuplexStream<ConsoleInput, ConsoleOutput__Output>;
  #buf = '';
  #waiters: (() => void)[] = [];
  #ended = false;
  #error: Error | undefined;

  constructor(c: HandlerClient, ns: string, name: string) {
    this.#stream = c.node.Console(c.md());
    this.#stream.write({ open: { kind: 'VirtualMachineInstance', namespace: ns, name } });
    this.#stream.on('data', (m: ConsoleOutput__Output) => {
      this.#buf += Buffer.from(m.data).toString('latin1');
      for (const w of this.#waiters.splice(0)) w();
    });
    const done = (e?: Error): void => {
      this.#ended = true;
      this.#error ??= e;
      for (const w of this.#waiters.splice(0)) w();
    };
    this.#stream.on('error', (e) => done(e));
    this.#stream.on('end', () => done());
  }

  get output(): string {
    return this.#buf;
  }

  send(text: string): void {
    this.#stream.write({ data: Buffer.from(text) });
  }

  /** Waits for `re` in output received after `from` (an offset into output). */
  async expect(re: RegExp, timeoutMs = 60_000, from = 0): Promise<RegExpMatchArray> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = this.#buf.slice(from).match(re);
      if (m) return m;
      if (this.#ended) throw new Error(`console ended (${this.#error?.message ?? 'eof'}) before ${re}; output:\n${this.#buf.slice(-2000)}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${re} on the console; output:\n${this.#buf.slice(-2000)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Logs in on the test guest's getty (cirros / gocubsgo, as on CirrOS). */
  async login(user = 'cirros', password = 'gocubsgo'): Promise<void> {
    const from = this.#buf.length;
    this.send('\r');
    await this.expect(/login: $/m, 90_000, Math.max(0, from - 200));
    const at = this.#buf.length;
    this.send(`${user}\r`);
    await this.expect(/[Pp]assword: ?$/m, 60_000, at);
    const at2 = this.#buf.length;
    this.send(`${password}\r`);
    // busybox ash asks the terminal for the cursor position (ESC[6n) after its prompt.
    await this.expect(/[$#] (\x1b\[6n)?$/, 60_000, at2);
  }

  /** Runs a shell command and returns what it printed between two markers. */
  async run(cmd: string, timeoutMs = 20_000): Promise<string> {
    const tag = Math.random().toString(36).slice(2, 8);
    const from = this.#buf.length;
    // A command sent to the background ends in '&', which takes no ';' after it.
    const c = /&\s*$/.test(cmd) ? cmd : `${cmd};`;
    this.send(`echo B${tag}; ${c} echo E${tag}\r`);
    const m = await this.expect(new RegExp(`\\nB${tag}\\r?\\n([\\s\\S]*?)E${tag}`), timeoutMs, from);
    return m[1]!.replace(/\r/g, '');
  }

  /** Half-closes the stream so what was sent still reaches the guest, then lets go. */
  close(): void {
    this.#stream.end();
    const s = this.#stream;
    setTimeout(() => s.cancel(), 2000).unref();
  }
}

/**
 * Parses an object the API returned, and holds it to KubeVirt's schema: every VM and
 * VMI the e2e suite reads, in every phase it waits through, goes through here.
 */
export function conforming<T extends { kind: string }>(json: string): T {
  const o = JSON.parse(json) as T;
  assertConformsToKubeVirt(o.kind, o);
  return o;
}

/** Watches node changes from `since`, collecting everything (for "no event lost" checks). */
export function collectWatch(c: HandlerClient, sinceSeq: number, out: WatchEvent__Output[]): () => void {
  const s = c.node.Watch({ sinceSeq, kinds: [] }, c.md());
  s.on('data', (e: WatchEvent__Output) => {
    if (e.kind === 'VirtualMachine' || e.kind === 'VirtualMachineInstance') conforming(e.json);
    out.push(e);
  });
  s.on('error', () => undefined);
  return () => s.cancel();
}

/**
 * The getting-started VM of examples/vm-cirros.yaml with another name/strategy.
 * `interfaces`: the YAML list items under devices.interfaces (indented for it), which
 * also gives the VM the pod network `default`.
 */
export function cirrosVM(name: string, opts: { runStrategy?: string; memory?: string; grace?: number; interfaces?: string } = {}): string {
  const interfaces = opts.interfaces === undefined ? '' : `          interfaces:\n${opts.interfaces}\n`;
  const networks = opts.interfaces === undefined ? '' : '      networks:\n      - name: default\n        pod: {}\n';
  return `kind: VirtualMachine
metadata:
  name: ${name}
spec:
  runStrategy: ${opts.runStrategy ?? 'Always'}
  template:
    spec:
      terminationGracePeriodSeconds: ${opts.grace ?? 30}
      domain:
        devices:
          disks:
          - name: containerdisk
            disk:
              bus: virtio
${interfaces}        resources:
          requests:
            memory: ${opts.memory ?? '64M'}
${networks}      volumes:
      - name: containerdisk
        containerDisk:
          image: ${DEMO_IMAGE}
`;
}

/** A disk and its volume beyond the containerDisk: the volume source as YAML lines (indented for it). */
export interface ExtraDisk {
  name: string;
  /** e.g. "emptyDisk:\n      capacity: 1G", under "- name: <name>" in volumes. */
  source: string;
  /** Its bus (default virtio). */
  bus?: 'virtio' | 'sata' | 'scsi' | 'usb';
  /** A cdrom (on `bus`, default sata) instead of a disk. */
  cdrom?: boolean;
}

/**
 * A bare VMI of the test guest (64M, grace 0): the containerDisk, `disks` after it,
 * one masquerade `nic` on the pod network when given, ACPI off on request.
 * `kernelBoot`: boot this container image's /boot/vmlinuz and /boot/initrd.img
 * (the containerDisk stays attached). `uuid`: firmware.uuid (a bare VMI with a
 * cloud-init volume needs one for its instance id).
 */
export function cirrosVMI(
  name: string,
  opts: { acpi?: boolean; nic?: { name: string; model?: string; mac?: string }; disks?: ExtraDisk[]; memory?: string; kernelBoot?: { image: string; kernelArgs: string }; uuid?: string } = {},
): string {
  const nic = opts.nic;
  const kb = opts.kernelBoot;
  const diskLines = (d: { name: string; bus?: string; cdrom?: boolean }): string[] =>
    d.cdrom ? [`      - name: ${d.name}`, '        cdrom:', `          bus: ${d.bus ?? 'sata'}`] : [`      - name: ${d.name}`, '        disk:', `          bus: ${d.bus ?? 'virtio'}`];
  const lines = [
    'apiVersion: kubevirt.io/v1',
    'kind: VirtualMachineInstance',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  terminationGracePeriodSeconds: 0',
    '  domain:',
    ...(opts.acpi === false ? ['    features:', '      acpi:', '        enabled: false'] : []),
    ...(kb || opts.uuid ? ['    firmware:'] : []),
    ...(opts.uuid ? [`      uuid: ${opts.uuid}`] : []),
    ...(kb
      ? ['      kernelBoot:', `        kernelArgs: ${kb.kernelArgs}`, '        container:', `          image: ${kb.image}`, '          kernelPath: /boot/vmlinuz', '          initrdPath: /boot/initrd.img']
      : []),
    '    devices:',
    '      disks:',
    ...[{ name: 'containerdisk' }, ...(opts.disks ?? [])].flatMap(diskLines),
    ...(nic ? ['      interfaces:', `      - name: ${nic.name}`, '        masquerade: {}', ...(nic.model ? [`        model: ${nic.model}`] : []), ...(nic.mac ? [`        macAddress: "${nic.mac}"`] : [])] : []),
    '    resources:',
    '      requests:',
    `        memory: ${opts.memory ?? '64M'}`,
    ...(nic ? ['  networks:', `  - name: ${nic.name}`, '    pod: {}'] : []),
    '  volumes:',
    '  - name: containerdisk',
    '    containerDisk:',
    `      image: ${DEMO_IMAGE}`,
    ...(opts.disks ?? []).flatMap((d) => [`  - name: ${d.name}`, ...d.source.split('\n').map((l) => `    ${l}`)]),
  ];
  return lines.join('\n') + '\n';
}
