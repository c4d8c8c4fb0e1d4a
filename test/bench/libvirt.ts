// libvirt as a benchmark peer (never a dependency of virtnode): libvirtd + virtlogd,
// configured the way KubeVirt's virt-launcher configures them (cmd/virt-launcher/
// qemu.conf: logd for QEMU's output, no cgroup controllers, no namespaces), except
// that QEMU runs as root with no security driver. The daemons run in the foreground
// as our children, so we know their pids and reap them.
//
// Setup facts (Debian 12, libvirt 9.0): the minimal packages are libvirt-daemon
// (which pulls libvirt-daemon-driver-qemu) and libvirt-clients, without
// recommends; libvirtd refuses to start until a `libvirt-qemu` user exists, even
// with user = "root" in qemu.conf; it needs /var/log/libvirt to exist; and the QEMU
// driver fails every domain start unless virtlogd is running (stdio_handler logd).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePackages } from './apt.js';

export const LIBVIRT_PACKAGES = ['libvirt-daemon', 'libvirt-clients'];
const SOCKET = '/run/libvirt/libvirt-sock';
const LOGD_SOCKET = '/run/libvirt/virtlogd-sock';
const CAPS_CACHE = '/var/cache/libvirt/qemu/capabilities';
const URI = 'qemu:///system';

const QEMU_CONF = `# Written by virtnode's benchmark (test/bench): KubeVirt's virt-launcher qemu.conf,
# except that QEMU runs as root with no security driver.
stdio_handler = "logd"
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
namespaces = [ ]
cgroup_controllers = [ ]
`;

/** Installs the peer when missing; returns why it cannot be used, or undefined. */
export async function ensureLibvirt(log: (m: string) => void): Promise<string | undefined> {
  const missing = await ensurePackages(LIBVIRT_PACKAGES, ['libvirtd', 'virtlogd', 'virsh'], log);
  if (missing) return missing;
  if (existsSync(SOCKET)) {
    // Someone else's libvirtd (or a leftover): never touch a daemon we did not start.
    try {
      execFileSync('virsh', ['-c', URI, 'version'], { stdio: 'ignore', timeout: 5000 });
      return `a libvirtd not started by the benchmark is running (${SOCKET}); stop it to include the libvirt peer`;
    } catch {
      rmSync(SOCKET, { force: true });
    }
  }
  try {
    execFileSync('getent', ['passwd', 'libvirt-qemu'], { stdio: 'ignore' });
  } catch {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/var/lib/libvirt', '--shell', '/usr/sbin/nologin', 'libvirt-qemu'], { stdio: 'ignore' });
    } catch (e) {
      return `cannot create the libvirt-qemu user libvirtd needs: ${(e as Error).message}`;
    }
  }
  for (const d of ['/etc/libvirt', '/var/log/libvirt/qemu', '/var/lib/libvirt/qemu', '/var/cache/libvirt/qemu', '/run/libvirt']) mkdirSync(d, { recursive: true });
  writeFileSync('/etc/libvirt/qemu.conf', QEMU_CONF);
  return undefined;
}

export function libvirtVersion(): string {
  try {
    return execFileSync('libvirtd', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

/** Removes libvirt's cached QEMU capabilities: the next first connection probes QEMU again. */
export function dropCapabilitiesCache(): void {
  try {
    for (const f of readdirSync(CAPS_CACHE)) rmSync(join(CAPS_CACHE, f), { force: true });
  } catch {
    /* no cache yet */
  }
}

async function waitSocket(path: string, child: ChildProcess, logFile: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    // `libvirtd -d` exits 0 even when the daemon dies: in the foreground we see it.
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${child.spawnfile} exited (${child.exitCode ?? child.signalCode}) before making ${path}: ${readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | ')}`);
    }
    if (Date.now() > end) throw new Error(`${path} did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export class LibvirtDaemons {
  #virtlogd: ChildProcess | undefined;
  #libvirtd: ChildProcess | undefined;
  readonly logDir: string;

  constructor(logDir: string) {
    this.logDir = logDir;
  }

  get pids(): number[] {
    return [this.#libvirtd?.pid, this.#virtlogd?.pid].filter((p): p is number => p !== undefined);
  }

  get libvirtdPid(): number | undefined {
    return this.#libvirtd?.pid;
  }

  get virtlogdPid(): number | undefined {
    return this.#virtlogd?.pid;
  }

  #spawn(cmd: string): { child: ChildProcess; logFile: string } {
    const logFile = join(this.logDir, `${cmd}.log`);
    const out = openSync(logFile, 'a');
    try {
      return { child: spawn(cmd, [], { stdio: ['ignore', out, out] }), logFile };
    } finally {
      closeSync(out);
    }
  }

  /** Starts virtlogd and libvirtd; resolves when libvirtd's socket exists (ms after spawn). */
  async start(): Promise<number> {
    const l = this.#spawn('virtlogd');
    this.#virtlogd = l.child;
    await waitSocket(LOGD_SOCKET, l.child, l.logFile);
    const t0 = performance.now();
    const d = this.#spawn('libvirtd');
    this.#libvirtd = d.child;
    await waitSocket(SOCKET, d.child, d.logFile);
    return performance.now() - t0;
  }

  async stop(): Promise<void> {
    for (const c of [this.#libvirtd, this.#virtlogd]) {
      if (!c || c.exitCode !== null || c.signalCode !== null) continue;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        await gone;
      }
    }
    this.#libvirtd = undefined;
    this.#virtlogd = undefined;
  }
}

/**
 * An interactive virsh on one connection, as a controller would hold one: each
 * command's time is the daemon's, not a new process's.
 */
export class VirshShell {
  #p: ChildProcess;
  #out = '';
  #err = '';
  #waiter: (() => void) | undefined;
  #chain: Promise<unknown> = Promise.resolve();

  constructor() {
    this.#p = spawn('virsh', ['-c', URI], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#p.stdout!.setEncoding('utf8');
    this.#p.stderr!.setEncoding('utf8');
    this.#p.stdout!.on('data', (s: string) => {
      this.#out += s;
      this.#waiter?.();
    });
    this.#p.stderr!.on('data', (s: string) => {
      this.#err += s;
      this.#waiter?.();
    });
    this.#p.on('exit', () => this.#waiter?.());
  }

  /** Runs one command; resolves with performance.now() when `done` matched its output. */
  run(command: string, done: RegExp, timeoutMs = 60_000): Promise<number> {
    const next = this.#chain.then(() => this.#run(command, done, timeoutMs));
    this.#chain = next.catch(() => undefined);
    return next;
  }

  #run(command: string, done: RegExp, timeoutMs: number): Promise<number> {
    this.#out = '';
    this.#err = '';
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => finish(new Error(`virsh ${command}: no answer within ${timeoutMs} ms`)), timeoutMs);
      const finish = (e?: Error): void => {
        clearTimeout(t);
        this.#waiter = undefined;
        if (e) reject(e);
        else resolve(performance.now());
      };
      this.#waiter = () => {
        if (done.test(this.#out)) finish();
        else if (/error:/.test(this.#err)) finish(new Error(`virsh ${command}: ${this.#err.trim()}`));
        else if (this.#p.exitCode !== null) finish(new Error(`virsh exited: ${this.#err.trim()}`));
      };
      this.#p.stdin!.write(command + '\n');
    });
  }

  close(): void {
    this.#p.stdin!.end('quit\n');
    setTimeout(() => this.#p.kill('SIGKILL'), 2000).unref();
  }
}

/** libvirt's lifecycle events, by domain, with their arrival time. */
export class LifecycleEvents {
  #p: ChildProcess;
  #buf = '';
  readonly seen = new Map<string, { what: string; at: number }[]>();
  #waiters: { domain: string; re: RegExp; resolve(at: number): void }[] = [];

  constructor() {
    this.#p = spawn('virsh', ['-c', URI, 'event', '--all', '--loop'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.#p.stdout!.setEncoding('utf8');
    this.#p.stdout!.on('data', (s: string) => {
      const at = performance.now();
      this.#buf += s;
      let nl: number;
      while ((nl = this.#buf.indexOf('\n')) >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        const m = line.match(/event 'lifecycle' for domain '([^']+)': (.*)$/);
        if (!m) continue;
        const list = this.seen.get(m[1]!) ?? [];
        list.push({ what: m[2]!, at });
        this.seen.set(m[1]!, list);
        for (const w of [...this.#waiters]) {
          if (w.domain === m[1] && w.re.test(m[2]!)) {
            this.#waiters.splice(this.#waiters.indexOf(w), 1);
            w.resolve(at);
          }
        }
      }
    });
  }

  wait(domain: string, re: RegExp, timeoutMs = 30_000): Promise<number> {
    const hit = this.seen.get(domain)?.find((e) => re.test(e.what));
    if (hit) return Promise.resolve(hit.at);
    return new Promise((resolve, reject) => {
      const w = {
        domain,
        re,
        resolve: (at: number) => {
          clearTimeout(t);
          resolve(at);
        },
      };
      const t = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        reject(new Error(`no libvirt lifecycle event ${re} for ${domain} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push(w);
    });
  }

  close(): void {
    this.#p.kill('SIGTERM');
  }
}

/**
 * The same guest as the launcher's argv, as libvirt domain XML: q35 under TCG with
 * the same translation-cache size and CPU model, the same RAM, the disk overlay on
 * virtio-blk, the serial console and guest-agent channel on unix sockets, a virtio
 * balloon, no USB, no display.
 */
export function domainXml(o: { name: string; memoryBytes: number; overlay: string; serialSocket: string; agentSocket: string; tbCacheMiB: number }): string {
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/'/g, '&apos;').replace(/</g, '&lt;');
  return `<domain type='qemu'>
  <name>${esc(o.name)}</name>
  <memory unit='b'>${o.memoryBytes}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type><boot dev='hd'/></os>
  <features><acpi/><tcg><tb-cache unit='MiB'>${o.tbCacheMiB}</tb-cache></tcg></features>
  <cpu mode='custom' match='exact' check='none'><model fallback='allow'>qemu64</model><feature policy='require' name='arat'/></cpu>
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' model='none'/>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='writethrough'/><source file='${esc(o.overlay)}'/><target dev='vda' bus='virtio'/></disk>
    <serial type='unix'><source mode='bind' path='${esc(o.serialSocket)}'/><target port='0'/></serial>
    <channel type='unix'><source mode='bind' path='${esc(o.agentSocket)}'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <memballoon model='virtio'><stats period='0'/></memballoon>
  </devices>
</domain>
`;
}

/** Whatever domain of ours libvirt still runs (after a failure). */
export function destroyLeftoverDomains(prefix: string): void {
  try {
    const names = execFileSync('virsh', ['-c', URI, 'list', '--name'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').map((s) => s.trim()).filter((s) => s.startsWith(prefix));
    for (const n of names) execFileSync('virsh', ['-c', URI, 'destroy', n], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    /* daemon gone */
  }
}

export const LIBVIRT_URI = URI;
