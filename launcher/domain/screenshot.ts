// The guest's screen as PNG: QMP screendump (QEMU 7.2 writes PNG itself), into the
// file of QEMU's directory the domain names, read back by the launcher. QEMU could
// have put anything at that path by then, so the file is opened without following a
// link and taken only if it is a regular file of QEMU's uid, one link, and no larger
// than a session message can carry.

import { constants, promises as fs } from 'node:fs';
import { VirtnodeError } from '../../proto/errors.js';
import type { Qmp } from '../qmp/index.js';
import { QEMU_UID } from './confine.js';
import type { DomainGraphics } from './types.js';

/** Below the handler's 4 MiB limit on a launcher message. */
export const MAX_SCREENSHOT_BYTES = 3 << 20;

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export async function screenshot(qmp: Qmp, graphics: DomainGraphics, timeoutMs: number): Promise<Buffer> {
  await qmp.execute('screendump', { filename: graphics.screendump, format: 'png' }, { timeoutMs });
  const file = await fs.open(graphics.screendump, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((e: Error) => {
    throw new VirtnodeError('VN_QMP', `screendump: reading ${graphics.screendump}: ${e.message}`, { cause: e });
  });
  try {
    const st = await file.stat();
    if (!st.isFile() || st.uid !== QEMU_UID || st.nlink !== 1) throw new VirtnodeError('VN_SANDBOX', `screendump: ${graphics.screendump} is not a file QEMU wrote`);
    if (st.size > MAX_SCREENSHOT_BYTES) throw new VirtnodeError('VN_UNSUPPORTED', `screendump: the PNG is ${st.size} bytes, more than ${MAX_SCREENSHOT_BYTES}`);
    const buf = Buffer.alloc(st.size);
    const { bytesRead } = await file.read(buf, 0, st.size, 0);
    const png = buf.subarray(0, bytesRead);
    if (!png.subarray(0, 8).equals(PNG_MAGIC)) throw new VirtnodeError('VN_QMP', 'screendump: QEMU wrote no PNG');
    return png;
  } finally {
    await file.close();
  }
}
