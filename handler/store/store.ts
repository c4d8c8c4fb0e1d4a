// The desired state of every VM and VMI on this node, on disk.
//
// One JSON file per object, replaced atomically (write, fsync, rename), so a crash
// leaves either the old or the new object, never half of one. Its path is
// objects/<kind>/<namespace>/<name>.json, with a name too long for a file name
// hashed (paths.ts); the record itself holds the name. Every change gets
// the next sequence number: it is the object's resourceVersion and the Watch
// position. Changes are applied in memory at once, in order, and written to disk
// through one ordered queue; callers that must not answer before the change is
// durable await the returned promise (Apply does).
//
// A bounded journal of recent changes (journal.jsonl) lets a watcher resume from a
// sequence number even across a handler restart.

import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { AlreadyExistsError, NotFoundError } from '../../proto/errors.js';
import type { VirtualMachine, VirtualMachineInstance } from '../../proto/vmi/types.js';
import { Journal, changeRef, type ChangeType, type Change, type ChangeRef, type RecordedChange } from './journal.js';
import { atomicWrite, sweepTemporaries, syncDir } from './fsutil.js';
import { objectFile, pathComponent } from './paths.js';

export type Kind = 'VirtualMachine' | 'VirtualMachineInstance';
export type StoredObject = VirtualMachine | VirtualMachineInstance;
export type { Change, ChangeRef, ChangeType, RecordedChange };

/** A Kubernetes-style Event about an object: what happened, why, and how often. */
export interface KubeEvent {
  apiVersion: 'v1';
  kind: 'Event';
  metadata: { name: string; namespace: string };
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  involvedObject: { kind: string; namespace: string; name: string; uid?: string };
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
  source: { component: string; host?: string };
}

const KINDS: Kind[] = ['VirtualMachine', 'VirtualMachineInstance'];

function key(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

function clone<T>(o: T): T {
  return structuredClone(o);
}

export class Store extends EventEmitter {
  #dir: string;
  #objects = new Map<string, StoredObject>();
  /** Each object serialised once per change: Get, List and Watch send these as they are. */
  #json = new Map<string, string>();
  #seq = 0;
  #journal: Journal;
  #writes: Promise<void> = Promise.resolve();
  #host: string;
  #pending: Change[] = [];
  #publishing = false;

  private constructor(dir: string, journal: Journal, host: string) {
    super();
    this.setMaxListeners(0);
    this.#dir = dir;
    this.#journal = journal;
    this.#host = host;
  }

  /** Opens (or creates) the store in `dir` and loads every object. */
  static async open(dir: string, opts: { host?: string; journalSize?: number } = {}): Promise<Store> {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const journal = await Journal.open(join(dir, 'journal.jsonl'), opts.journalSize ?? 4096);
    const store = new Store(dir, journal, opts.host ?? 'localhost');
    await store.#load();
    return store;
  }

  async #load(): Promise<void> {
    let maxSeq = this.#journal.lastSeq;
    /** Where each object was found, to put it where it now belongs. */
    const found = new Map<string, { file: string; resourceVersion: number }>();
    for (const kind of KINDS) {
      const kdir = join(this.#dir, 'objects', kind);
      let dirs: string[] = [];
      try {
        dirs = await fs.readdir(kdir);
      } catch {
        continue;
      }
      for (const d of dirs) {
        // A handler killed mid-write leaves its temporary file beside the object's.
        await sweepTemporaries(join(kdir, d));
        for (const f of await fs.readdir(join(kdir, d))) {
          if (!f.endsWith('.json')) continue;
          const file = join(kdir, d, f);
          const text = await fs.readFile(file, 'utf8');
          const obj = JSON.parse(text) as StoredObject;
          // The record names the object; the file name may be a hash of it.
          const k = key(kind, obj.metadata.namespace!, obj.metadata.name);
          const resourceVersion = Number(obj.metadata.resourceVersion ?? 0);
          const seen = found.get(k);
          if (seen) {
            // Two files of one object: a move below cut short by a crash. The newer wins.
            const older = seen.resourceVersion >= resourceVersion ? file : seen.file;
            await fs.rm(older, { force: true });
            if (older === file) continue;
          }
          found.set(k, { file, resourceVersion });
          this.#objects.set(k, obj);
          this.#json.set(k, text);
          maxSeq = Math.max(maxSeq, resourceVersion);
        }
      }
    }
    // A store written before names were hashed may hold a long name under its own
    // file name: it moves to the path every later write of it will use.
    for (const [k, { file }] of found) {
      const want = this.#path(this.#objects.get(k)!);
      if (want.file === file) continue;
      await fs.mkdir(want.dir, { recursive: true, mode: 0o700 });
      await fs.rename(file, want.file);
      await syncDir(want.dir);
      await fs.rmdir(dirname(file)).catch(() => undefined);
    }
    this.#seq = maxSeq;
  }

  /** The directory and file of a stored object. */
  #path(o: StoredObject): { dir: string; file: string } {
    const dir = join(this.#dir, 'objects', o.kind, pathComponent(o.metadata.namespace!));
    return { dir, file: join(dir, objectFile(o.metadata.name)) };
  }

  get seq(): number {
    return this.#seq;
  }

  get<T extends StoredObject>(kind: Kind, namespace: string, name: string): T | undefined {
    const o = this.#objects.get(key(kind, namespace, name));
    return o ? (clone(o) as T) : undefined;
  }

  /** The stored object as JSON, without copying it (the API sends this). */
  getJSON(kind: Kind, namespace: string, name: string): { json: string; resourceVersion: number } | undefined {
    const k = key(kind, namespace, name);
    const json = this.#json.get(k);
    return json === undefined ? undefined : { json, resourceVersion: Number(this.#objects.get(k)!.metadata.resourceVersion ?? 0) };
  }

  /** Every object of a kind (in `namespace`, named `name`, when given) as JSON, ordered by namespace/name. */
  listJSON(kind: Kind, namespace?: string, name?: string): { json: string; resourceVersion: number }[] {
    const out: { k: string; json: string; resourceVersion: number }[] = [];
    for (const [k, o] of this.#objects) {
      if (o.kind !== kind || (namespace && o.metadata.namespace !== namespace) || (name && o.metadata.name !== name)) continue;
      out.push({ k, json: this.#json.get(k)!, resourceVersion: Number(o.metadata.resourceVersion ?? 0) });
    }
    // Code-unit order (names are ASCII): localeCompare costs ~1 µs a comparison.
    return out.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0)).map(({ json, resourceVersion }) => ({ json, resourceVersion }));
  }

  mustGet<T extends StoredObject>(kind: Kind, namespace: string, name: string): T {
    const o = this.get<T>(kind, namespace, name);
    if (!o) throw new NotFoundError(`${kind} ${namespace}/${name}`);
    return o;
  }

  list<T extends StoredObject>(kind: Kind, namespace?: string): T[] {
    const out: T[] = [];
    for (const o of this.#objects.values()) {
      if (o.kind !== kind) continue;
      if (namespace && o.metadata.namespace !== namespace) continue;
      out.push(clone(o) as T);
    }
    return out.sort((a, b) => (a.metadata.namespace! + '/' + a.metadata.name).localeCompare(b.metadata.namespace! + '/' + b.metadata.name));
  }

  /**
   * Stores a new object: assigns uid, creationTimestamp, generation and resourceVersion,
   * whatever the object says, as an API server does (a uid copied from another
   * object would name the other's pod network and sandbox).
   */
  create<T extends StoredObject>(obj: T): { object: T; durable: Promise<void> } {
    const ns = obj.metadata.namespace ?? 'default';
    const k = key(obj.kind, ns, obj.metadata.name);
    if (this.#objects.has(k)) throw new AlreadyExistsError(`${obj.kind} ${ns}/${obj.metadata.name}`);
    const o = clone(obj);
    o.metadata.namespace = ns;
    o.metadata.uid = randomUUID();
    o.metadata.creationTimestamp = new Date().toISOString();
    o.metadata.generation = 1;
    const durable = this.#commit('ADDED', o);
    return { object: clone(o), durable };
  }

  /**
   * Replaces a stored object. `generation` moves only when the spec changed, as in
   * Kubernetes; status-only updates keep it.
   */
  update<T extends StoredObject>(obj: T): { object: T; durable: Promise<void> } {
    const ns = obj.metadata.namespace ?? 'default';
    const k = key(obj.kind, ns, obj.metadata.name);
    const cur = this.#objects.get(k);
    if (!cur) throw new NotFoundError(`${obj.kind} ${ns}/${obj.metadata.name}`);
    const o = clone(obj);
    o.metadata.uid = cur.metadata.uid;
    o.metadata.creationTimestamp = cur.metadata.creationTimestamp;
    o.metadata.generation = (cur.metadata.generation ?? 1) + (JSON.stringify(cur.spec) === JSON.stringify(o.spec) ? 0 : 1);
    const durable = this.#commit('MODIFIED', o);
    return { object: clone(o), durable };
  }

  /** Read-modify-write of one object; `fn` returns false to leave it unchanged. */
  mutate<T extends StoredObject>(kind: Kind, namespace: string, name: string, fn: (o: T) => boolean | void): { object: T; durable: Promise<void> } {
    const cur = this.mustGet<T>(kind, namespace, name);
    if (fn(cur) === false) return { object: cur, durable: Promise.resolve() };
    return this.update(cur);
  }

  delete(kind: Kind, namespace: string, name: string): Promise<void> {
    const k = key(kind, namespace, name);
    const cur = this.#objects.get(k);
    if (!cur) throw new NotFoundError(`${kind} ${namespace}/${name}`);
    return this.#commit('DELETED', clone(cur));
  }

  /** Records a node Event (journaled for watchers, not kept as an object). */
  recordEvent(ev: {
    type?: 'Normal' | 'Warning';
    reason: string;
    message: string;
    object: { kind: string; metadata: { namespace?: string; name: string; uid?: string } };
  }): KubeEvent {
    const now = new Date().toISOString();
    const ns = ev.object.metadata.namespace ?? 'default';
    const e: KubeEvent = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${ev.object.metadata.name}.${(this.#seq + 1).toString(16)}`, namespace: ns },
      type: ev.type ?? 'Normal',
      reason: ev.reason,
      message: ev.message,
      involvedObject: { kind: ev.object.kind, namespace: ns, name: ev.object.metadata.name, uid: ev.object.metadata.uid },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      source: { component: 'virtnode-handler', host: this.#host },
    };
    void this.#commit('EVENT', e);
    return e;
  }

  /** Changes after `seq`, or undefined when the journal no longer holds all of them. */
  since(seq: number): RecordedChange[] | undefined {
    if (seq >= this.#seq) return [];
    const changes = this.#journal.since(seq);
    // After a crash between an object write and its journal line, the journal can
    // end before the store's sequence: the watcher must relist rather than miss it.
    if (!changes || (changes.at(-1)?.seq ?? seq) < this.#seq) return undefined;
    return changes;
  }

  /** Every change the journal still holds, oldest first. */
  oldest(): RecordedChange[] {
    return this.#journal.since(0) ?? this.#journal.all();
  }

  /** Resolves when every change made so far is on disk. */
  flush(): Promise<void> {
    return this.#writes;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.#journal.close();
  }

  #commit(type: ChangeType, obj: StoredObject | KubeEvent): Promise<void> {
    const seq = ++this.#seq;
    if (type !== 'EVENT') (obj as StoredObject).metadata.resourceVersion = String(seq);
    const json = JSON.stringify(obj);
    if (type !== 'EVENT') {
      const o = obj as StoredObject;
      const k = key(o.kind, o.metadata.namespace!, o.metadata.name);
      if (type === 'DELETED') {
        this.#objects.delete(k);
        this.#json.delete(k);
      } else {
        this.#objects.set(k, o);
        this.#json.set(k, json);
      }
    }
    const change: Change = { seq, type, kind: obj.kind, ref: changeRef(obj.kind, obj), object: obj, json };
    this.#journal.record(change);
    const write = async (): Promise<void> => {
      if (type !== 'EVENT') {
        const { dir, file } = this.#path(obj as StoredObject);
        if (type === 'DELETED') await fs.rm(file, { force: true });
        else {
          await fs.mkdir(dir, { recursive: true, mode: 0o700 });
          await atomicWrite(file, json);
        }
      }
      await this.#journal.persist(change);
    };
    // Ordered: a later write of the same object never lands before an earlier one.
    this.#writes = this.#writes.then(write, write);
    const durable = this.#writes;
    // Callers that do not wait for durability must not turn a failed write into an
    // unhandled rejection; those that do still see it. Failures are reported once.
    durable.catch((e: unknown) => this.emit('writeError', e, change));
    this.#publish(change);
    return durable;
  }

  /**
   * Tells listeners about a change, strictly in sequence order. A listener may
   * itself change the store (a controller reconciling at once); that change waits
   * until every listener has seen this one, or watchers would see 44 before 43.
   */
  #publish(change: Change): void {
    this.#pending.push(change);
    if (this.#publishing) return;
    this.#publishing = true;
    try {
      for (let c = this.#pending.shift(); c; c = this.#pending.shift()) this.emit('change', c);
    } finally {
      this.#publishing = false;
    }
  }
}
