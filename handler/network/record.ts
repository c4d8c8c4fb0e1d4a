// One JSON file per pod network under <stateDir>/pods: what a restarted handler needs
// to find, report and remove it. Written before anything is made (state "creating")
// and completed at the end (state "ready"), so a crash half-way leaves a record
// that says what to clean up, never kernel objects nobody knows about.

import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { atomicWrite } from '../store/fsutil.js';
import type { PodNetwork } from './types.js';

export interface PodRecord {
  version: 1;
  uid: string;
  namespace: string;
  name: string;
  id: string;
  netnsName: string;
  hostVeth: string;
  resolvConfPath: string;
  state: 'creating' | 'ready';
  /** Set once ready. */
  network?: PodNetwork;
}

export class PodRecords {
  readonly dir: string;
  /** id → uid of every record; loaded once, then kept by write/remove (the handler is the only writer). */
  #owners: Promise<Map<string, string>> | undefined;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'pods');
  }

  /** The uid whose record holds pod network `id`, without reading every record each time. */
  async ownerOf(id: string): Promise<string | undefined> {
    this.#owners ??= this.list().then((rs) => new Map(rs.map((r) => [r.id, r.uid])));
    return (await this.#owners).get(id);
  }

  #file(uid: string): string {
    return join(this.dir, `${encodeURIComponent(uid)}.json`);
  }

  /**
   * Undefined when there is none, or when it is torn: records are written without
   * fsync (what they describe does not outlive the node), so a power cut may leave
   * one unreadable; a torn record is then treated as missing (its lease still names
   * the uid, see listPodNetworks) and overwritten by the next write.
   */
  async read(uid: string): Promise<PodRecord | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.#file(uid), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      return JSON.parse(text) as PodRecord;
    } catch {
      return undefined;
    }
  }

  async write(r: PodRecord): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await atomicWrite(this.#file(r.uid), JSON.stringify(r, null, 1) + '\n', { durable: false });
    (await this.#owners)?.set(r.id, r.uid);
  }

  async remove(uid: string): Promise<void> {
    await fs.rm(this.#file(uid), { force: true });
    const owners = await this.#owners;
    for (const [id, u] of owners ?? []) if (u === uid) owners!.delete(id);
  }

  async list(): Promise<PodRecord[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch {
      return [];
    }
    const out: PodRecord[] = [];
    for (const n of names.filter((x) => x.endsWith('.json'))) {
      const r = await this.read(decodeURIComponent(n.slice(0, -'.json'.length)));
      if (r) out.push(r);
    }
    return out;
  }
}
