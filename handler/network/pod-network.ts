// Pod networking in standalone mode: the handler does what kubelet + a bridge CNI
// plugin do for the virt-launcher pod (a netns, a veth into it on the node bridge,
// an address from the node's pod CIDR, a resolv.conf), then what virt-handler does
// inside that pod for each VMI interface (the masquerade or bridge binding with its
// tap). One instance per handler; every method may run concurrently with others,
// each VMI's create and destroy are serialised.

import { sweepTemporaries } from '../store/fsutil.js';
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { AlreadyExistsError, InvalidSpecError, errorMessage } from '../../proto/errors.js';
import { atomicWrite } from '../store/fsutil.js';
import { BRIDGE_FAKE_IP, setupBridge } from './bridge.js';
import { resolveNodeNetwork, type NodeNetworkConfig, type ResolvedNodeNetwork } from './config.js';
import { ip, ipBatch, ipJson, NetworkError } from './exec.js';
import { Ipam } from './ipam.js';
import { setupMasquerade } from './masquerade.js';
import { hostVethPattern, LOCAL_OUI, netnsPattern, POD_BRIDGE, POD_IFACE, POD_TAP, podNames, QEMU_OUI, stableMac, type PodNames } from './names.js';
import { ensureNode, type NodeNetworkStatus } from './node.js';
import { planPodNetwork, type PlannedInterface } from './request.js';
import { PodRecords, type PodRecord } from './record.js';
import { podDns, renderResolvConf, type PodDns } from './resolv.js';
import type { PodInterface, PodNetwork, PodNetworkEntry, PodNetworkRequest } from './types.js';

export interface PodNetworkingOptions {
  /** Persistent: the IPAM file (ipam.json) and one record per pod network (pods/). */
  stateDir: string;
  node?: NodeNetworkConfig;
  log?: Logger;
}

export class PodNetworking {
  readonly node: ResolvedNodeNetwork;
  readonly #records: PodRecords;
  readonly #ipam: Ipam;
  readonly #log: Logger | undefined;
  #nodeStatus: Promise<NodeNetworkStatus> | undefined;
  readonly #locks = new Map<string, Promise<unknown>>();

  private constructor(node: ResolvedNodeNetwork, records: PodRecords, ipam: Ipam, log: Logger | undefined) {
    this.node = node;
    this.#records = records;
    this.#ipam = ipam;
    this.#log = log;
  }

  /** Validates the node config and loads the IPAM state; touches no kernel object. */
  static async open(opts: PodNetworkingOptions): Promise<PodNetworking> {
    const node = resolveNodeNetwork(opts.node);
    const ipam = await Ipam.open(join(opts.stateDir, 'ipam.json'), node.podCIDR, [node.gateway]);
    const records = new PodRecords(opts.stateDir);
    await sweepTemporaries(records.dir);
    return new PodNetworking(node, records, ipam, opts.log);
  }

  /** The node bridge, forwarding and NAT (idempotent; createPodNetwork runs it once if nobody has). */
  ensureNode(): Promise<NodeNetworkStatus> {
    const p = ensureNode(this.node);
    this.#nodeStatus = p;
    p.catch(() => {
      if (this.#nodeStatus === p) this.#nodeStatus = undefined;
    });
    return p;
  }

  /**
   * Makes the pod network of one VMI. Refuses a bad request before making anything
   * (InvalidSpecError with field paths); on any later failure removes whatever it
   * made, lease included, and throws. A uid that already has a complete pod network
   * gets AlreadyExistsError (read it with getPodNetwork); an unfinished one left by
   * a crash is cleaned away and made again.
   */
  async createPodNetwork(req: PodNetworkRequest): Promise<PodNetwork> {
    const plan = planPodNetwork(req, this.node);
    return this.#serial(req.uid, async () => {
      const names = podNames(req.uid, this.node.namePrefix);
      await this.#claim(req, names);
      const record: PodRecord = {
        version: 1,
        uid: req.uid,
        namespace: req.namespace,
        name: req.name,
        id: names.id,
        netnsName: names.netns,
        hostVeth: names.hostVeth,
        resolvConfPath: join(req.runDir, 'resolv.conf'),
        state: 'creating',
      };
      await this.#records.write(record);
      try {
        const network = await this.#build(req, plan, names, record.resolvConfPath);
        await this.#records.write({ ...record, state: 'ready', network });
        this.#log?.info({ uid: req.uid, namespace: req.namespace, name: req.name, netns: names.netns, podIP: network.podIP }, 'pod network created');
        return network;
      } catch (e) {
        await this.#teardown(req.uid, names, record).catch((te) => {
          this.#log?.error({ uid: req.uid, err: errorMessage(te) }, 'removing a failed pod network');
        });
        if (e instanceof InvalidSpecError) throw e;
        throw new NetworkError(`creating the pod network of ${req.namespace}/${req.name}: ${errorMessage(e)}`, { cause: e });
      }
    });
  }

  /**
   * Removes the pod network of `uid`: taps and bridge, veth, netns, lease, resolv.conf,
   * record. Idempotent, and works from the uid alone (names are derived from it), so
   * it also clears what a crashed or restarted handler left.
   */
  destroyPodNetwork(uid: string): Promise<void> {
    return this.#serial(uid, async () => {
      const record = await this.#records.read(uid);
      await this.#teardown(uid, podNames(uid, this.node.namePrefix), record);
      this.#log?.info({ uid }, 'pod network destroyed');
    });
  }

  /**
   * The complete pod network of `uid`, as it was made (a restarted handler reads it
   * here). Undefined when unfinished, or when its netns is gone (a node reboot empties
   * /run/netns while the record stays): createPodNetwork then makes it again.
   */
  async getPodNetwork(uid: string): Promise<PodNetwork | undefined> {
    const r = await this.#records.read(uid);
    return r?.state === 'ready' && r.network && existsSync(r.network.netnsPath) ? r.network : undefined;
  }

  /**
   * Every pod network on record, plus leftovers: netns and node veths named like
   * ours, and leases, that no record explains. The handler compares the uids with its
   * store and destroys the rest (destroyPodNetwork, or removeLeftover for entries
   * without a uid).
   */
  async listPodNetworks(): Promise<PodNetworkEntry[]> {
    const records = await this.#records.list();
    const netnsIds = await this.#netnsIds();
    const vethIds = await this.#hostVethIds();
    const leases = await this.#ipam.leases();
    const out: PodNetworkEntry[] = [];
    const seen = new Set<string>();
    for (const r of records) {
      seen.add(r.id);
      const lease = [...leases].find(([, l]) => l.owner === r.uid)?.[0];
      out.push({
        uid: r.uid, id: r.id, netnsName: r.netnsName, hostVeth: r.hostVeth, state: r.state,
        podIP: r.network?.podIP ?? lease, netnsExists: netnsIds.has(r.id), hostVethExists: vethIds.has(r.id),
        namespace: r.namespace, name: r.name,
      });
    }
    const recordUids = new Set(records.map((r) => r.uid));
    for (const [addr, l] of leases) {
      if (recordUids.has(l.owner)) continue;
      const n = podNames(l.owner, this.node.namePrefix);
      seen.add(n.id);
      out.push({ uid: l.owner, id: n.id, netnsName: n.netns, hostVeth: n.hostVeth, state: 'leftover', podIP: addr, netnsExists: netnsIds.has(n.id), hostVethExists: vethIds.has(n.id) });
    }
    for (const id of new Set([...netnsIds, ...vethIds])) {
      if (seen.has(id)) continue;
      const p = this.node.namePrefix;
      out.push({ uid: undefined, id, netnsName: `${p}-${id}`, hostVeth: `${p}${id}`, state: 'leftover', netnsExists: netnsIds.has(id), hostVethExists: vethIds.has(id) });
    }
    return out;
  }

  /** Removes a leftover found by name only (an entry of listPodNetworks without uid). */
  async removeLeftover(id: string): Promise<void> {
    if (!/^[0-9a-f]{12}$/.test(id)) throw new InvalidSpecError([{ path: 'id', message: `${JSON.stringify(id)} is not a pod network id` }]);
    const p = this.node.namePrefix;
    await removeKernelObjects({ netns: `${p}-${id}`, netnsPath: `/run/netns/${p}-${id}`, hostVeth: `${p}${id}` });
  }

  // ---- internals -----------------------------------------------------------

  /** Refuses a uid whose pod network is complete, or whose derived names another uid holds; cleans an unfinished one. */
  async #claim(req: PodNetworkRequest, names: PodNames): Promise<void> {
    const existing = await this.#records.read(req.uid);
    if (existing?.state === 'ready' && existsSync(names.netnsPath)) {
      throw new AlreadyExistsError(`pod network of ${req.namespace}/${req.name} (uid ${req.uid})`);
    }
    const owner = await this.#records.ownerOf(names.id);
    if (owner !== undefined && owner !== req.uid) {
      const other = await this.#records.read(owner);
      throw new AlreadyExistsError(`pod network ${names.netns} (it belongs to uid ${owner}${other ? `, ${other.namespace}/${other.name}` : ''}; uid ${req.uid} maps to the same name)`);
    }
    if (existing || existsSync(names.netnsPath)) {
      this.#log?.warn({ uid: req.uid, netns: names.netns, state: existing?.state ?? 'no record' }, 'removing an unfinished pod network before making it again');
      // The lease stays: the same uid gets the same address back.
      await this.#teardown(req.uid, names, existing, { keepLease: true });
    }
  }

  async #build(req: PodNetworkRequest, plan: PlannedInterface[], names: PodNames, resolvConfPath: string): Promise<PodNetwork> {
    this.#nodeStatus ??= this.ensureNode();
    const nodeStatus = await this.#nodeStatus;
    const mtu = nodeStatus.mtu;
    const podIP = await this.#ipam.allocate(req.uid);
    const prefix = this.node.podCIDR.prefixLength;
    // Stable, so the pod's MAC (and a bridge guest's) is the same after a re-create.
    const podMac = stableMac(`${req.uid}/pod`, LOCAL_OUI);

    // One `ip` process for the node side, one for the pod side (each process costs
    // a few ms, and this is on every VM's start).
    await ipBatch([
      `netns add ${names.netns}`,
      `link add ${names.hostVeth} mtu ${mtu} type veth peer name ${POD_IFACE} address ${podMac} mtu ${mtu} netns ${names.netns}`,
      `link set ${names.hostVeth} master ${this.node.bridge} up`,
    ]);
    await ipBatch([
      'link set lo up',
      `addr add ${podIP}/${prefix} dev ${POD_IFACE}`,
      `link set ${POD_IFACE} up`,
      `route add default via ${this.node.gateway} dev ${POD_IFACE}`,
    ], names.netns);

    const dns = await podDns(this.node.dns, req.namespace);
    await atomicWrite(resolvConfPath, renderResolvConf(dns), { mode: 0o644, durable: false });

    const interfaces: PodInterface[] = [];
    for (const p of plan) {
      interfaces.push(await this.#bind(p, req, names, { podIP, prefix, podMac, mtu, dns }));
    }
    return {
      uid: req.uid, namespace: req.namespace, name: req.name,
      netnsName: names.netns, netnsPath: names.netnsPath, hostVeth: names.hostVeth,
      podIP, podPrefixLength: prefix, podGateway: this.node.gateway, podMac, mtu,
      resolvConfPath, interfaces,
    };
  }

  async #bind(p: PlannedInterface, req: PodNetworkRequest, names: PodNames, pod: { podIP: string; prefix: number; podMac: string; mtu: number; dns: PodDns }): Promise<PodInterface> {
    const common = { dns: pod.dns.nameservers, searchDomains: pod.dns.searchDomains, hostname: req.hostname ?? req.name, mtu: pod.mtu, routes: [] };
    if (p.binding === 'masquerade') {
      const vm = p.vm!;
      await setupMasquerade({ netns: names.netns, netnsPath: names.netnsPath, mtu: pod.mtu, gateway: vm.gateway, guest: vm.guest, prefixLength: vm.prefixLength, ports: p.ports, multiQueue: p.multiQueue });
      const mac = p.macAddress ?? stableMac(`${req.uid}/${p.name}`, QEMU_OUI);
      return {
        name: p.name, binding: 'masquerade', tapName: POD_TAP, multiQueue: p.multiQueue, bridgeName: POD_BRIDGE,
        guest: { ip: vm.guest, prefixLength: vm.prefixLength, gateway: vm.gateway, mac, dhcpServerIP: vm.gateway, ...common },
      };
    }
    const eth0Mac = stableMac(`${req.uid}/${POD_IFACE}`, LOCAL_OUI);
    await setupBridge({ netns: names.netns, netnsPath: names.netnsPath, mtu: pod.mtu, podIfaceMac: eth0Mac, multiQueue: p.multiQueue });
    return {
      name: p.name, binding: 'bridge', tapName: POD_TAP, multiQueue: p.multiQueue, bridgeName: POD_BRIDGE,
      guest: { ip: pod.podIP, prefixLength: pod.prefix, gateway: this.node.gateway, mac: p.macAddress ?? pod.podMac, dhcpServerIP: BRIDGE_FAKE_IP, ...common },
    };
  }

  async #teardown(uid: string, names: PodNames, record: PodRecord | undefined, opts: { keepLease?: boolean } = {}): Promise<void> {
    await removeKernelObjects(names);
    if (!opts.keepLease) await this.#ipam.release(uid);
    if (record?.resolvConfPath) await fs.rm(record.resolvConfPath, { force: true });
    await this.#records.remove(uid);
  }

  #serial<T>(uid: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(uid) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.#locks.set(uid, tail);
    void tail.then(() => {
      if (this.#locks.get(uid) === tail) this.#locks.delete(uid);
    });
    return next;
  }

  async #netnsIds(): Promise<Set<string>> {
    const re = netnsPattern(this.node.namePrefix);
    let entries: string[] = [];
    try {
      entries = await fs.readdir('/run/netns');
    } catch {
      // no named netns at all
    }
    return new Set(entries.map((e) => re.exec(e)?.[1]).filter((x): x is string => x !== undefined));
  }

  async #hostVethIds(): Promise<Set<string>> {
    const re = hostVethPattern(this.node.namePrefix);
    const links = await ipJson<{ ifname: string }>(['link', 'show', 'type', 'veth']);
    return new Set(links.map((l) => re.exec(l.ifname)?.[1]).filter((x): x is string => x !== undefined));
  }
}

/**
 * `argv` made to run inside the pod's network namespace (nsenter(1), util-linux), for
 * spawning the launcher there: its DHCP server binds k6t-eth0 and it opens tap0 by
 * name, both of which exist only in the pod. Unix sockets (the handler's, QMP) are
 * paths and work across network namespaces.
 */
export function netnsArgv(netnsPath: string, argv: string[]): string[] {
  return ['nsenter', `--net=${netnsPath}`, '--', ...argv];
}

/**
 * Takes the in-pod links down first: a process still holding the netns (a launcher
 * that has not died yet) would otherwise keep the namespace, its taps and its veth
 * alive after `ip netns del`. Then the node end of the veth (its peer goes with it)
 * and the netns. Missing objects are fine.
 */
async function removeKernelObjects(names: Pick<PodNames, 'netns' | 'netnsPath' | 'hostVeth'>): Promise<void> {
  if (existsSync(names.netnsPath)) {
    await ipBatch([`link del ${POD_TAP}`, `link del ${POD_BRIDGE}`], names.netns, true);
  }
  await ip(['link', 'del', names.hostVeth], undefined, { okIf: (e) => /cannot find device/i.test(e) });
  if (existsSync(names.netnsPath)) {
    await ip(['netns', 'del', names.netns], undefined, { okIf: (e) => /no such file/i.test(e) });
  }
}
