import { promises as fs } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  mode?: number;
  /**
   * Default true: the new content survives a power cut once this resolves (file and
   * directory fsynced). False for records of things that do not outlive the node
   * (processes, network namespaces, run directories): the rename still makes the
   * replacement all-or-nothing for a crash of this process, and two fsyncs come off
   * every VM start. Their readers must treat a record torn by a power cut as missing.
   */
  durable?: boolean;
  /**
   * Default true (with `durable`). False when the caller syncs the directory itself,
   * once for many files (the store's batches): until then a power cut may undo the
   * rename.
   */
  dirSync?: boolean;
}

/** Replaces `file` with `data` so a crash leaves the old or the new content, never a mix. */
export async function atomicWrite(file: string, data: string | Buffer, opts: AtomicWriteOptions = {}): Promise<void> {
  const durable = opts.durable ?? true;
  // Unique per write: two writes of one file in the same millisecond must not share it.
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await fs.open(tmp, 'w', opts.mode ?? 0o600);
  try {
    try {
      await fh.writeFile(data);
      if (durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, file);
  } catch (e) {
    // A half-written temporary on a full disk holds the space the next write needs.
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
  // The rename itself is durable only once the directory is synced.
  if (durable && opts.dirSync !== false) await syncDir(dirname(file));
}

/** Makes the entries of `dir` (files created, renamed or removed there) survive a power cut. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** What atomicWrite (and the image index) name their temporary files: <file>.<unique>.tmp. */
const TEMPORARY = /\.[0-9a-f-]+\.tmp$/;

/**
 * Removes the temporary files a killed writer left in `dir` (its own, not its
 * subdirectories'). Only at start, before this process writes there: a write in
 * flight has one too.
 */
export async function sweepTemporaries(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const gone = names.filter((n) => TEMPORARY.test(n));
  await Promise.all(gone.map((n) => fs.rm(join(dir, n), { force: true })));
  return gone;
}
