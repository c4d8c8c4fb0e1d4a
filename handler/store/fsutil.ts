import { promises as fs } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';

/** Replaces `file` with `data` so a crash leaves the old or the new content, never a mix. */
export async function atomicWrite(file: string, data: string | Buffer, mode = 0o600): Promise<void> {
  // Unique per write: two writes of one file in the same millisecond must not share it.
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await fs.open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
  // The rename itself is durable only once the directory is synced.
  const dir = await fs.open(dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
