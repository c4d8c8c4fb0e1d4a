// The pod CIDR's address book (what CNI's host-local IPAM does for a node): one lease
// per VMI uid, persisted in one JSON file replaced atomically, so a restarted handler
// keeps every lease and never hands out an address twice. Leases are handed out
// round-robin after the last one given, so a just-freed address is the last to be
// reused (a stale ARP entry or connection somewhere then has time to expire).
//
// The file is re-read under the lock before every change: the file, not this
// object's memory, is the truth, so two instances over one file (an old and a new
// handler in a rolling restart) still never collide as long as they do not write at
// the same instant. One handler per node is the rule; this is the safety margin.

import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { VirtnodeError } from '../../proto/errors.js';
import { atomicWrite, sweepTemporaries } from '../store/fsutil.js';
import { broadcast, cidrSize, contains, formatCidr, formatIPv4, parseIPv4, type Cidr } from './ipv4.js';

export interface Lease {
  /** The VMI uid. */
  owner: string;
  /** ISO time, for humans reading the file. */
  since: string;
}

interface IpamFile {
  version: 1;
  cidr: string;
  /** The address handed out last: the search for a free one starts after it. */
  last?: string;
  leases: Record<string, Lease>;
}

export class IpamError extends VirtnodeError {
  constructor(message: string) {
    super('VN_SANDBOX', message);
  }
}

export class Ipam {
  readonly file: string;
  readonly cidr: Cidr;
  /** Addresses never leased: the network's own, its broadcast and the gateway. */
  readonly #reserved: Set<number>;
  #lock: Promise<unknown> = Promise.resolve();

  private constructor(file: string, cidr: Cidr, reserved: number[]) {
    this.file = file;
    this.cidr = cidr;
    this.#reserved = new Set([cidr.network, broadcast(cidr), ...reserved]);
  }

  /**
   * Opens (creating if absent) the address book of `cidr`. Refuses a file written for
   * another CIDR while it still holds leases: those pods would keep addresses the
   * node no longer routes.
   */
  static async open(file: string, cidr: Cidr, reserved: string[] = []): Promise<Ipam> {
    const ipam = new Ipam(file, cidr, reserved.map((r) => parseIPv4(r)!));
    await fs.mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await sweepTemporaries(dirname(file));
    await ipam.#locked(async () => {
      const data = await ipam.#read();
      if (data.cidr !== formatCidr(cidr)) {
        const held = Object.keys(data.leases).length;
        if (held > 0) {
          throw new IpamError(`${file} holds ${held} lease(s) in ${data.cidr}, but the pod CIDR is now ${formatCidr(cidr)}: destroy those pod networks first, or keep the old CIDR`);
        }
        data.cidr = formatCidr(cidr);
        delete data.last;
      }
      await ipam.#write(data);
    });
    return ipam;
  }

  /** The address of `owner`: its existing lease, or a new one. */
  allocate(owner: string): Promise<string> {
    return this.#locked(async () => {
      const data = await this.#read();
      const held = Object.entries(data.leases).find(([, l]) => l.owner === owner);
      if (held) return held[0];
      const size = cidrSize(this.cidr);
      const last = data.last !== undefined ? parseIPv4(data.last) : undefined;
      const start = last !== undefined && contains(this.cidr, last) ? last - this.cidr.network + 1 : 0;
      for (let i = 0; i < size; i++) {
        const addr = this.cidr.network + ((start + i) % size);
        const text = formatIPv4(addr);
        if (this.#reserved.has(addr) || data.leases[text]) continue;
        data.leases[text] = { owner, since: new Date().toISOString() };
        data.last = text;
        await this.#write(data);
        return text;
      }
      throw new IpamError(`no free address left in the pod CIDR ${formatCidr(this.cidr)} (${Object.keys(data.leases).length} leased)`);
    });
  }

  /** Frees `owner`'s lease; false when it had none. */
  release(owner: string): Promise<boolean> {
    return this.#locked(async () => {
      const data = await this.#read();
      const held = Object.entries(data.leases).filter(([, l]) => l.owner === owner);
      if (held.length === 0) return false;
      for (const [addr] of held) delete data.leases[addr];
      await this.#write(data);
      return true;
    });
  }

  /** address → lease, as persisted. */
  async leases(): Promise<Map<string, Lease>> {
    return this.#locked(async () => new Map(Object.entries((await this.#read()).leases)));
  }

  #locked<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#lock.then(fn, fn);
    this.#lock = next.catch(() => undefined);
    return next;
  }

  async #read(): Promise<IpamFile> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, cidr: formatCidr(this.cidr), leases: {} };
      throw e;
    }
    let data: IpamFile;
    try {
      data = JSON.parse(text) as IpamFile;
    } catch (e) {
      // Never guess: a lost lease would mean a duplicate address.
      throw new IpamError(`${this.file} is not valid JSON (${(e as Error).message}); fix or remove it by hand`);
    }
    if (data.version !== 1 || typeof data.cidr !== 'string' || typeof data.leases !== 'object' || data.leases === null) {
      throw new IpamError(`${this.file} is not a virtnode IPAM file (version 1)`);
    }
    return data;
  }

  #write(data: IpamFile): Promise<void> {
    return atomicWrite(this.file, JSON.stringify(data, null, 1) + '\n');
  }
}
