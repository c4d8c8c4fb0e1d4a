// Shared by the podnet*.test.ts files: a test node network of its own (a bridge, an
// nft table, a name prefix and a 10.250.x.0/24 pod CIDR nothing else uses), "guest"
// namespaces standing in for QEMU behind a pod's k6t-eth0, and TCP endpoints run
// inside namespaces. Everything is removed in t.after, whatever happened.

import type { TestContext } from 'node:test';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PodNetworking, removeNode, type NodeNetworkConfig } from '../../handler/network/index.js';

export const PREFIX = 'vt';

export interface TestNode {
  cfg: NodeNetworkConfig;
  stateDir: string;
  runDir: string;
  pn: PodNetworking;
  /** Every uid created through `create`: destroyed in t.after. */
  uids: Set<string>;
}

/** A PodNetworking over a test bridge `vtbr<n>`, table `vntest<pid>`, CIDR 10.250.<octet>.0/24. */
export async function testNode(t: TestContext, octet: number): Promise<TestNode> {
  const cfg: NodeNetworkConfig = {
    bridge: `vtbr${octet}p${process.pid % 100000}`,
    podCIDR: `10.250.${octet}.0/24`,
    nftTable: `vntest${process.pid}`,
    namePrefix: PREFIX,
    dns: { nameservers: ['10.250.0.53'] },
  };
  const stateDir = mkdtempSync(join(tmpdir(), 'vn-podnet-state-'));
  const runDir = mkdtempSync(join(tmpdir(), 'vn-podnet-run-'));
  const forward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  const pn = await PodNetworking.open({ stateDir, node: cfg });
  const uids = new Set<string>();
  t.after(async () => {
    const reopened = await PodNetworking.open({ stateDir, node: cfg }).catch(() => pn);
    for (const uid of uids) await reopened.destroyPodNetwork(uid).catch(() => undefined);
    for (const e of await reopened.listPodNetworks().catch(() => [])) {
      await (e.uid ? reopened.destroyPodNetwork(e.uid) : reopened.removeLeftover(e.id)).catch(() => undefined);
    }
    await removeNode(reopened.node).catch(() => undefined);
    writeFileSync('/proc/sys/net/ipv4/ip_forward', forward);
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  });
  return { cfg, stateDir, runDir, pn, uids };
}

export function sh(file: string, args: string[]): string {
  return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function shAsync(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { encoding: 'utf8', timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A named netns of the test's own (a fake guest or a fake uplink peer), deleted in t.after. */
export function testNetns(t: TestContext, tag: string): string {
  const name = `vtx-${tag}-${process.pid}`;
  sh('ip', ['netns', 'add', name]);
  t.after(() => { try { sh('ip', ['netns', 'del', name]); } catch { /* gone */ } });
  return name;
}

/**
 * A stand-in guest behind the pod's k6t-eth0: a veth whose pod end joins the bridge
 * (a tap would need QEMU reading it) and whose other end is `eth0` in `guestNs`.
 */
export function plugGuest(podNetns: string, guestNs: string, g: { ip: string; prefixLength: number; gateway: string; mac?: string }): void {
  sh('ip', ['-n', podNetns, 'link', 'add', 'gst0', 'type', 'veth', 'peer', 'name', 'eth0', ...(g.mac ? ['address', g.mac] : []), 'netns', guestNs]);
  sh('ip', ['-n', podNetns, 'link', 'set', 'gst0', 'master', 'k6t-eth0', 'up']);
  sh('ip', ['-n', guestNs, 'link', 'set', 'lo', 'up']);
  sh('ip', ['-n', guestNs, 'addr', 'add', `${g.ip}/${g.prefixLength}`, 'dev', 'eth0']);
  sh('ip', ['-n', guestNs, 'link', 'set', 'eth0', 'up']);
  sh('ip', ['-n', guestNs, 'route', 'add', 'default', 'via', g.gateway]);
}

function nodeIn(netns: string | undefined, code: string): ChildProcess {
  const node = [process.execPath, '--input-type=module', '-e', code];
  const argv = netns ? ['nsenter', `--net=/run/netns/${netns}`, ...node] : node;
  return spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface TcpServer {
  /** Remote addresses of the connections seen so far. */
  peers: string[];
}

/**
 * TCP servers in `netns` on `ports` (all addresses): each answers "<tag>:<port>\n" and
 * reports the peer's address. Killed in t.after.
 */
export async function tcpServers(t: TestContext, netns: string, ports: number[], tag: string): Promise<TcpServer> {
  const code = `
    import net from 'node:net';
    let up = 0;
    for (const port of ${JSON.stringify(ports)}) {
      net.createServer((s) => { console.log('peer ' + s.remoteAddress); s.end(${JSON.stringify(tag)} + ':' + port + '\\n'); })
        .listen(port, '0.0.0.0', () => { if (++up === ${ports.length}) console.log('ready'); });
    }`;
  const child = nodeIn(netns, code);
  t.after(() => { child.kill('SIGKILL'); });
  const server: TcpServer = { peers: [] };
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`tcp servers in ${netns} not ready: ${err}`)), 10_000);
    child.stdout!.on('data', (d) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line === 'ready') { clearTimeout(timer); resolve(); }
        else if (line.startsWith('peer ')) server.peers.push(line.slice(5));
      }
    });
    child.on('exit', (c) => { clearTimeout(timer); reject(new Error(`tcp servers in ${netns} exited (${c}): ${err}`)); });
  });
  return server;
}

/** Connects from `netns` (or the node) to host:port: the first line it reads, or the error code. */
export async function tcpConnect(netns: string | undefined, host: string, port: number, timeoutMs = 3000): Promise<string> {
  const code = `
    import net from 'node:net';
    const s = net.connect({ host: ${JSON.stringify(host)}, port: ${port} });
    s.setTimeout(${timeoutMs}, () => { console.log('ERR ETIMEDOUT'); process.exit(0); });
    let data = '';
    s.on('data', (d) => { data += d; });
    s.on('end', () => { console.log(data.trim()); process.exit(0); });
    s.on('error', (e) => { console.log('ERR ' + e.code); process.exit(0); });`;
  const child = nodeIn(netns, code);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { err += d; });
  const status = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (status !== 0) throw new Error(`tcp client in ${netns ?? 'node'} failed (${status}): ${err}`);
  return out.trim();
}

/** GET `url` from inside `netns` with Node's own client (no curl needed): the body, trimmed. */
export async function httpGet(netns: string, url: string): Promise<string> {
  const code = `
    import http from 'node:http';
    http.get(${JSON.stringify(url)}, { timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => { console.log(body.trim()); process.exit(0); });
    }).on('error', (e) => { console.error(e.message); process.exit(1); }).on('timeout', () => { console.error('timeout'); process.exit(1); });`;
  const child = nodeIn(netns, code);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { err += d; });
  const status = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (status !== 0) throw new Error(`GET ${url} from ${netns}: ${err}`);
  return out.trim();
}

export async function ping(netns: string | undefined, addr: string): Promise<boolean> {
  const args = ['ping', '-c', '1', '-W', '2', addr];
  const r = await shAsync(netns ? 'ip' : 'busybox', netns ? ['netns', 'exec', netns, 'busybox', ...args] : args);
  return r.code === 0;
}

/** Our netns names, host links and nft tables as the kernel lists them now. */
export function kernelLeftovers(node: { bridge: string; nftTable: string }, ids: string[]): { netns: string[]; links: string[]; tables: string[] } {
  const netns = sh('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]!).filter((n) => ids.some((id) => n.includes(id)));
  const links = sh('ip', ['-o', 'link', 'show']).split('\n').map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '').filter((n) => ids.some((id) => n.includes(id)) || n === node.bridge);
  const tables = sh('nft', ['list', 'tables']).split('\n').filter((l) => l.includes(node.nftTable));
  return { netns, links, tables };
}
