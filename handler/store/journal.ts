// The recent history of changes, so a watcher can resume from a sequence number.
// Appended as JSON lines; the newest `size` changes are kept in memory, and the
// file is rewritten to that tail when it grows past twice the size.

import { promises as fs } from 'node:fs';
import { atomicWrite } from './fsutil.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'EVENT';

/** What a watcher filters on: the object's namespace and name (an Event's: its involved object's). */
export interface ChangeRef {
  namespace?: string;
  name?: string;
}

/**
 * A change as the journal keeps it: what a resuming watcher is sent and filters on.
 * Not the parsed object: a running VMI parsed takes ~2 KiB of heap, so a full
 * journal (4096) held up to ~8 MiB of objects that no reader of history used.
 */
export interface RecordedChange {
  seq: number;
  type: ChangeType;
  kind: string;
  ref: ChangeRef;
  /** The object serialised once, for every watcher and the journal file. */
  json: string;
}

/** A change as the store publishes it: with the object itself, for the controllers. */
export interface Change extends RecordedChange {
  object: unknown;
}

export function changeRef(kind: string, object: unknown): ChangeRef {
  const o = object as { metadata?: ChangeRef; involvedObject?: ChangeRef } | null;
  const m = kind === 'Event' ? o?.involvedObject : o?.metadata;
  return { namespace: m?.namespace, name: m?.name };
}

/** One journal line, reusing the serialised object. */
function line(c: RecordedChange): string {
  return `{"seq":${c.seq},"type":"${c.type}","kind":${JSON.stringify(c.kind)},"object":${c.json}}\n`;
}

export class Journal {
  #file: string;
  #size: number;
  #ring: RecordedChange[] = [];
  #linesInFile = 0;
  /** An append failed: the file lacks a line (or ends torn) and is rewritten from the ring. */
  #behind = false;
  #fh: fs.FileHandle;

  private constructor(file: string, size: number, fh: fs.FileHandle) {
    this.#file = file;
    this.#size = size;
    this.#fh = fh;
  }

  static async open(file: string, size: number): Promise<Journal> {
    let lines: string[] = [];
    try {
      lines = (await fs.readFile(file, 'utf8')).split('\n');
    } catch {
      /* first start */
    }
    const changes: RecordedChange[] = [];
    for (const l of lines) {
      if (!l) continue;
      try {
        const { seq, type, kind, object } = JSON.parse(l) as Omit<Change, 'json' | 'ref'>;
        changes.push({ seq, type, kind, ref: changeRef(kind, object), json: JSON.stringify(object) });
      } catch {
        // A torn last line from a crash mid-append: everything before it is intact.
      }
    }
    const tail = changes.slice(-size);
    if (changes.length > tail.length || lines.length > changes.length + 1) {
      await atomicWrite(file, tail.map(line).join(''));
    }
    const j = new Journal(file, size, await fs.open(file, 'a', 0o600));
    j.#ring = tail;
    j.#linesInFile = tail.length;
    return j;
  }

  get lastSeq(): number {
    return this.#ring.at(-1)?.seq ?? 0;
  }

  /** Remembers a durable change, so watchers resuming right now see it. */
  record(c: RecordedChange): void {
    this.#ring.push({ seq: c.seq, type: c.type, kind: c.kind, ref: c.ref, json: c.json });
    if (this.#ring.length > this.#size) this.#ring.splice(0, this.#ring.length - this.#size);
  }

  /** Writes recorded changes to the file, in one append; called in sequence order. */
  async persist(...cs: RecordedChange[]): Promise<void> {
    // A line missing in the middle would let a watcher resume across it unaware.
    if (this.#behind) return this.#compact();
    try {
      await this.#fh.appendFile(cs.map(line).join(''));
    } catch (e) {
      this.#behind = true;
      throw e;
    }
    this.#linesInFile += cs.length;
    if (this.#linesInFile > 2 * this.#size) await this.#compact();
  }

  /** Changes with seq > `seq`, or undefined when older ones were already dropped. */
  since(seq: number): RecordedChange[] | undefined {
    const first = this.#ring[0];
    if (!first || first.seq > seq + 1) return undefined;
    return this.#ring.filter((c) => c.seq > seq);
  }

  all(): RecordedChange[] {
    return [...this.#ring];
  }

  async #compact(): Promise<void> {
    // The old file stays open until the new one is in place: a failed rewrite leaves it usable.
    await atomicWrite(this.#file, this.#ring.map(line).join(''));
    await this.#fh.close();
    this.#fh = await fs.open(this.#file, 'a', 0o600);
    this.#linesInFile = this.#ring.length;
    this.#behind = false;
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }
}
