// What the soak's VMIs could have left on the node, by kind: processes, cgroups,
// sandbox directories, sockets, network namespaces, veths, taps, nft rules, mounts,
// address leases, pod records and temporary files. The handler's own leftover check
// (common.ts) looks per VMI; this one also sweeps the node for anything of the
// handler's that no VMI should still hold.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hostVethPattern } from '../../handler/network/names.js';
import { netnsList, type TestHandler } from '../e2e/harness.js';
import { leftovers, sandboxDirs } from './common.js';
import { socketsUnder } from './cycle.js';

export interface Left {
  processes?: string[];
  sandbox?: string[];
  sockets?: string[];
  vmis?: string[];
  netns?: string[];
  veths?: string[];
  taps?: string[];
  nft?: string[];
  mounts?: string[];
  leases?: string[];
  records?: string[];
  temporary?: string[];
  images?: string[];
}

/** Everything the VMIs of a run could have left on the node, by kind. */
export function leftBehind(h: TestHandler, uids: string[], nftBefore: string[]): Left {
  const out: Left = {};
  const per = leftovers(h, uids);
  out.processes = per.filter((l) => l.startsWith('process') || l.startsWith('cgroup'));
  out.sandbox = [...per.filter((l) => / directory /.test(l)), ...sandboxDirs(h).filter((l) => !l.startsWith('network namespace'))];
  out.sockets = socketsUnder(h.runDir, h.socket);
  out.netns = netnsList().filter((n) => n.startsWith(`${h.net.prefix}-`));
  // Node links: veths named like the handler's pods, anything still on its bridge, taps.
  const links = listDir('/sys/class/net');
  const veth = hostVethPattern(h.net.prefix);
  out.veths = [...links.filter((l) => veth.test(l)), ...listDir(`/sys/class/net/${h.net.bridge}/brif`).map((p) => `${p} (on ${h.net.bridge})`)];
  out.taps = links.filter((l) => existsSync(`/sys/class/net/${l}/tun_flags`) && (l.startsWith(h.net.prefix) || existsSync(`/sys/class/net/${h.net.bridge}/brif/${l}`)));
  for (const ns of out.netns) out.taps.push(...netnsLinks(ns).filter((l) => l.startsWith('tap')).map((l) => `${l} in ${ns}`));
  const nftNow = nftRules(h);
  out.nft = nftNow.filter((r) => !nftBefore.includes(r));
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '');
  out.mounts = mounts.filter((m) => m.startsWith(`${h.stateDir}/`) || m.startsWith(`${h.runDir}/`) || m.startsWith(`/run/netns/${h.net.prefix}-`));
  try {
    const ipam = JSON.parse(readFileSync(join(h.stateDir, 'network', 'ipam.json'), 'utf8')) as { leases: Record<string, { owner: string }> };
    out.leases = Object.entries(ipam.leases).map(([ip, l]) => `${ip} → ${l.owner}`);
  } catch (e) {
    out.leases = [`ipam.json unreadable: ${(e as Error).message}`];
  }
  out.records = listDir(join(h.stateDir, 'network', 'pods')).map((f) => `pod record ${f}`);
  out.temporary = [...walk(h.stateDir).filter((p) => p.endsWith('.tmp')), ...listDir(join(h.stateDir, 'images', 'tmp')).map((f) => join(h.stateDir, 'images', 'tmp', f))];
  return out;
}

/** The rules of the handler's node nft table, each as one line without handles and counters. */
export function nftRules(h: TestHandler): string[] {
  try {
    const text = execFileSync('nft', ['list', 'table', 'inet', h.net.nftTable], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return text
      .split('\n')
      .map((l) => l.trim().replace(/counter packets \d+ bytes \d+/, 'counter'))
      .filter((l) => l && !/^(table|chain|type|policy|})/.test(l));
  } catch {
    return [];
  }
}

function netnsLinks(ns: string): string[] {
  try {
    return execFileSync('ip', ['-n', ns, '-o', 'link'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .map((l) => l.split(': ')[1]?.split('@')[0] ?? '')
      .filter(Boolean);
  } catch {
    return [];
  }
}

function listDir(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}

function walk(d: string): string[] {
  const out: string[] = [];
  for (const e of listDir(d)) {
    const p = join(d, e);
    out.push(p);
    try {
      if (statSync(p).isDirectory()) out.push(...walk(p));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}