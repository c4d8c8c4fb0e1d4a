// The desired state of every VM and VMI on this node, on disk.
//
// One JSON file per object, replaced atomically (write, fsync, rename), so a crash
// leaves either the old or the new object, never half of one. Its path is
// objects/<kind>/<namespace>/<name>.json, with a name too long for a file name
// hashed (paths.ts); the record itself holds the name. Every change gets the next
// sequence number: it is the object's resourceVersion and the Watch position.
//
// Written first, then told. Changes are written in sequence order, and a
// change becomes the store's state — in getJSON/listJSON (what the API serves),
// in the journal, in the 'change' events controllers and watchers follow — only
// once its file is durable. So the store never holds what it could not persist:
// a write that fails (disk full, I/O error) leaves nothing behind, no object for
// a controller to start, no change a watcher saw, and `durable` rejects with a
// StoreWriteError naming the cause, which Apply answers with. The other way —
// apply at once, write behind, and undo with a compensating change — let a VMI
// boot before its record existed and would show watchers changes that never were.
//
// Writers still read their own writes: get(), list() and mutate() see a change
// as soon as it is accepted, or two status updates in a row would lose the first
// (controllers do not wait for each before the next). A failed change is undone
// there too, and every later change of that object made on top of it fails with
// it. A new object is the exception: get() does not show it until it is durable
// (create() of its name is refused meanwhile), so nothing acts on an object that
// may never be. The cost is latency: a controller hears of a change once it is
// written, not when it is made. Callers that must answer after durability (Apply,
// domain-event acks) waited for the write already, and writes now go in batches
// (group commit, #drain), which in a create storm takes a third of the time per
// change that one file at a time did, so Apply answers sooner than before.
//
// A bounded journal of recent changes (journal.jsonl) lets a watcher resume from a
// sequence number even across a handler restart.

import type { PersistentVolumeClaim } from '../../proto/storage/pvc.js';
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { AlreadyExistsError, errorMessage, NotFoundError, VirtnodeError } from '../../proto/errors.js';
import type { VirtualMachine, VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { ControllerRevision, TemplateObject } from '../../proto/instancetype/types.js';
import { Journal, changeRef, type ChangeType, type Change, type ChangeRef, type RecordedChange } from './journal.js';
import { atomicWrite, sweepTemporaries, syncDir } from './fsutil.js';
import { objectFile, pathComponent } from './paths.js';
import { CLUSTER_DIR, scopeOf, STORED_KINDS, type Kind } from './kinds.js';

export type StoredObject = VirtualMachine | VirtualMachineInstance | TemplateObject | ControllerRevision | PersistentVolumeClaim;
export type { Change, ChangeRef, ChangeType, RecordedChange, Kind };

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

const KINDS: readonly Kind[] = STORED_KINDS;

function key(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/** fs.rm({ force }) would report EPERM as ENOTDIR: it tries the path as a directory next. */
async function unlinkIfThere(file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

function clone<T>(o: T): T {
  return structuredClone(o);
}

/** A change the store could not make durable, and so did not make at all. */
export class StoreWriteError extends VirtnodeError {
  constructor(type: ChangeType, o: StoredObject, cause: unknown) {
    const done = type === 'ADDED' ? 'created' : type === 'DELETED' ? 'deleted' : 'changed';
    super('VN_STORAGE', `${o.kind} ${o.metadata.namespace}/${o.metadata.name} was not ${done}: the store could not write it: ${errorMessage(cause)}`, { cause });
  }
}

/** A change waiting for its write, and its caller. */
interface Queued {
  change: Change;
  /** The object's key; undefined for an Event. */
  k: string | undefined;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** Changes written together at most: bounds the wait of the first and the files open at once. */
const MAX_BATCH = 128;
/** Object files written at once. */
const WRITERS = 2;

/** The newest accepted change of an object whose write is still queued. */
interface Accepted {
  seq: number;
  /** Undefined once deleted. */
  object: StoredObject | undefined;
  /** A new object: nobody sees it before it is durable. */
  creating: boolean;
}

export class Store extends EventEmitter {
  #dir: string;
  /** What is on disk: the store's state. */
  #objects = new Map<string, StoredObject>();
  /** Each object serialised once per change: Get, List and Watch send these as they are. */
  #json = new Map<string, string>();
  /** Changes accepted but not yet durable, by object: what its writers read back. */
  #accepted = new Map<string, Accepted>();
  /** After a failed change of an object, its changes up to `upTo` were made on top of it. */
  #doomed = new Map<string, { upTo: number; cause: unknown }>();
  /** The last sequence number given out. */
  #seq = 0;
  /** The last sequence number made durable: the Watch position. */
  #durableSeq = 0;
  #journal: Journal;
  /** Changes accepted, not yet being written. */
  #queue: Queued[] = [];
  /** Settles when the queue is empty and every write settled; never rejects. */
  #draining: Promise<void> | undefined;
  #host: string;

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
          const k = key(kind, scopeOf(kind, obj.metadata.namespace), obj.metadata.name);
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
    this.#durableSeq = maxSeq;
  }

  /** The directory and file of a stored object. */
  #path(o: StoredObject): { dir: string; file: string } {
    const scope = scopeOf(o.kind, o.metadata.namespace);
    const dir = join(this.#dir, 'objects', o.kind, scope === '' ? CLUSTER_DIR : pathComponent(scope));
    return { dir, file: join(dir, objectFile(o.metadata.name)) };
  }

  /** The last durable change: what getJSON, listJSON and watchers are at. */
  get seq(): number {
    return this.#durableSeq;
  }

  /** What a writer sees of an object: its newest accepted change, unless that makes it. */
  #current(k: string): StoredObject | undefined {
    const a = this.#accepted.get(k);
    if (!a) return this.#objects.get(k);
    return a.creating ? undefined : a.object;
  }

  /** The object with every change accepted so far (see the module comment). */
  get<T extends StoredObject>(kind: Kind, namespace: string, name: string): T | undefined {
    const o = this.#current(key(kind, namespace, name));
    return o ? (clone(o) as T) : undefined;
  }

  /** The stored (durable) object as JSON, without copying it (the API sends this). */
  getJSON(kind: Kind, namespace: string, name: string): { json: string; resourceVersion: number } | undefined {
    const k = key(kind, namespace, name);
    const json = this.#json.get(k);
    return json === undefined ? undefined : { json, resourceVersion: Number(this.#objects.get(k)!.metadata.resourceVersion ?? 0) };
  }

  /** Every stored (durable) object of a kind (in `namespace`, named `name`, when given) as JSON, ordered by namespace/name. */
  listJSON(kind: Kind, namespace?: string, name?: string): { json: string; resourceVersion: number }[] {
    const out: { k: string; json: string; resourceVersion: number }[] = [];
    for (const [k, o] of this.#objects) {
      if (o.kind !== kind || (namespace && scopeOf(kind, o.metadata.namespace) !== namespace) || (name && o.metadata.name !== name)) continue;
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

  /** Every object of a kind as get() sees it, ordered by namespace/name. */
  list<T extends StoredObject>(kind: Kind, namespace?: string): T[] {
    const out: T[] = [];
    const take = (o: StoredObject | undefined): void => {
      if (!o || o.kind !== kind || (namespace && scopeOf(kind, o.metadata.namespace) !== namespace)) return;
      out.push(clone(o) as T);
    };
    for (const [k, o] of this.#objects) if (!this.#accepted.has(k)) take(o);
    for (const k of this.#accepted.keys()) take(this.#current(k));
    const at = (o: StoredObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    return out.sort((a, b) => at(a).localeCompare(at(b)));
  }

  /**
   * Stores a new object: assigns uid, creationTimestamp, generation and resourceVersion,
   * whatever the object says, as an API server does (a uid copied from another
   * object would name the other's pod network and sandbox).
   */
  create<T extends StoredObject>(obj: T): { object: T; durable: Promise<void> } {
    const ns = scopeOf(obj.kind, obj.metadata.namespace);
    const k = key(obj.kind, ns, obj.metadata.name);
    // One being created counts: a second create of it would be a second object.
    const a = this.#accepted.get(k);
    if (a ? a.object : this.#objects.has(k)) throw new AlreadyExistsError(`${obj.kind} ${ns}/${obj.metadata.name}`);
    const o = clone(obj);
    if (ns === '') delete o.metadata.namespace;
    else o.metadata.namespace = ns;
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
    const ns = scopeOf(obj.kind, obj.metadata.namespace);
    const cur = this.#current(key(obj.kind, ns, obj.metadata.name));
    if (!cur) throw new NotFoundError(`${obj.kind} ${ns}/${obj.metadata.name}`);
    const o = clone(obj);
    o.metadata.uid = cur.metadata.uid;
    o.metadata.creationTimestamp = cur.metadata.creationTimestamp;
    const spec = (x: StoredObject): unknown => ('spec' in x ? x.spec : undefined);
    o.metadata.generation = (cur.metadata.generation ?? 1) + (JSON.stringify(spec(cur)) === JSON.stringify(spec(o)) ? 0 : 1);
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
    const cur = this.#current(key(kind, namespace, name));
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
    if (seq >= this.#durableSeq) return [];
    const changes = this.#journal.since(seq);
    // After a crash between an object write and its journal line, the journal can
    // end before the store's sequence: the watcher must relist rather than miss it.
    if (!changes || (changes.at(-1)?.seq ?? seq) < this.#durableSeq) return undefined;
    return changes;
  }

  /** Every change the journal still holds, oldest first. */
  oldest(): RecordedChange[] {
    return this.#journal.since(0) ?? this.#journal.all();
  }

  /** Resolves when every change made so far is on disk or has failed. */
  flush(): Promise<void> {
    return this.#draining ?? Promise.resolve();
  }

  async close(): Promise<void> {
    await this.flush();
    await this.#journal.close();
  }

  /**
   * Accepts a change and queues its write; the returned promise settles when the
   * change is durable and told, or rejects (StoreWriteError) when it was dropped.
   */
  #commit(type: ChangeType, obj: StoredObject | KubeEvent): Promise<void> {
    const seq = ++this.#seq;
    let k: string | undefined;
    if (type !== 'EVENT') {
      const o = obj as StoredObject;
      o.metadata.resourceVersion = String(seq);
      k = key(o.kind, scopeOf(o.kind, o.metadata.namespace), o.metadata.name);
      this.#accepted.set(k, { seq, object: type === 'DELETED' ? undefined : o, creating: type === 'ADDED' });
    }
    const json = JSON.stringify(obj);
    const change: Change = { seq, type, kind: obj.kind, ref: changeRef(obj.kind, obj), object: obj, json };
    const durable = new Promise<void>((resolve, reject) => this.#queue.push({ change, k, resolve, reject }));
    // Callers that do not wait for durability must not turn a failed write into an
    // unhandled rejection; those that do still see it. Failures are reported once.
    durable.catch((e: unknown) => this.emit('writeError', e, change));
    // Started after the current task: the changes it makes go in one batch.
    this.#draining ??= Promise.resolve().then(() => this.#drain());
    return durable;
  }

  /**
   * Group commit: what queued up while one batch was written is the next batch.
   * When idle, a change is written at once; under a storm, a batch's files are
   * written a few at a time and each directory synced once (test/bench/store.ts).
   */
  async #drain(): Promise<void> {
    while (this.#queue.length) {
      const batch = this.#queue.splice(0, MAX_BATCH);
      try {
        await this.#writeBatch(batch);
      } catch (e) {
        // Not a write's failure (those are per change) but a bug: no caller may hang on it.
        for (const q of batch) q.reject(e);
      }
    }
    this.#draining = undefined;
  }

  /**
   * One batch, in sequence order: each object's newest change written (a later
   * write of an object never lands before an earlier one: they are one write),
   * then the durable changes become the store's state, the journal's, and the
   * listeners'; the failed ones are undone and rejected.
   */
  async #writeBatch(batch: Queued[]): Promise<void> {
    const last = new Map<string, Change>();
    const failed = new Map<Queued, StoreWriteError>();
    for (const q of batch) {
      if (q.k === undefined) continue;
      const doomed = this.#doomed.get(q.k);
      if (doomed && q.change.seq <= doomed.upTo) {
        failed.set(q, new StoreWriteError(q.change.type, q.change.object as StoredObject, new Error(`an earlier change of it failed: ${errorMessage(doomed.cause)}`)));
      } else last.set(q.k, q.change);
    }
    const causes = await this.#writeObjects(last);
    const done: Queued[] = [];
    const undone = new Set<string>();
    for (const q of batch) {
      const k = q.k;
      if (k !== undefined && !failed.has(q) && causes.has(k)) {
        failed.set(q, new StoreWriteError(q.change.type, q.change.object as StoredObject, causes.get(k)));
        if (!undone.has(k)) this.#undo(k, causes.get(k));
        undone.add(k);
      }
      if (failed.has(q)) continue;
      if (k !== undefined) this.#apply(q.change, k);
      // Durable: from here on the change is the store's state.
      this.#durableSeq = q.change.seq;
      this.#journal.record(q.change);
      done.push(q);
    }
    const through = batch.at(-1)!.change.seq;
    for (const [k, d] of this.#doomed) if (d.upTo <= through) this.#doomed.delete(k);
    for (const [q, e] of failed) q.reject(e);
    if (done.length) {
      try {
        await this.#journal.persist(...done.map((q) => q.change));
      } catch (e) {
        // The objects are on disk; only the history a watcher resumes from is behind
        // (the journal rewrites itself from memory at its next write).
        this.emit('writeError', e, done[0]!.change);
      }
    }
    // Listeners hear of changes in sequence order: one that changes the store from
    // here only queues a write behind this batch. One that throws fails the change's
    // caller, as when listeners ran inside create() and mutate().
    for (const q of done) {
      try {
        this.emit('change', q.change);
        q.resolve();
      } catch (e) {
        q.reject(e);
      }
    }
  }

  /** Writes (or removes) each object's file; the errors, by object. */
  async #writeObjects(last: Map<string, Change>): Promise<Map<string, unknown>> {
    const causes = new Map<string, unknown>();
    const dirs = new Map<string, string[]>();
    const todo = [...last];
    const writer = async (): Promise<void> => {
      for (let next = todo.shift(); next; next = todo.shift()) {
        const [k, c] = next;
        const { dir, file } = this.#path(c.object as StoredObject);
        try {
          if (c.type === 'DELETED') await unlinkIfThere(file);
          else {
            await fs.mkdir(dir, { recursive: true, mode: 0o700 });
            await atomicWrite(file, c.json, { dirSync: false });
          }
          dirs.set(dir, [...(dirs.get(dir) ?? []), k]);
        } catch (e) {
          causes.set(k, e);
        }
      }
    };
    // A few at a time: fsync holds a libuv thread (there are 4, shared with all file I/O).
    await Promise.all(Array.from({ length: Math.min(WRITERS, todo.length) }, writer));
    await Promise.all(
      [...dirs].map(async ([dir, keys]) => {
        try {
          await syncDir(dir);
        } catch (e) {
          for (const k of keys) causes.set(k, e);
        }
      }),
    );
    return causes;
  }

  /** A durable change of an object becomes the store's state. */
  #apply(change: Change, k: string): void {
    if (change.type === 'DELETED') {
      this.#objects.delete(k);
      this.#json.delete(k);
    } else {
      this.#objects.set(k, change.object as StoredObject);
      this.#json.set(k, change.json);
    }
    if (this.#accepted.get(k)?.seq === change.seq) this.#accepted.delete(k);
  }

  /**
   * A change of `k` failed: writers see the object as it is on disk again, and its
   * changes accepted since, made on top of the failed one, fail too.
   */
  #undo(k: string, cause: unknown): void {
    this.#accepted.delete(k);
    this.#doomed.set(k, { upTo: this.#seq, cause });
  }
}
