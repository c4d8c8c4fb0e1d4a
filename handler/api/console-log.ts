// `virtnode logs`: a running VMI's serial console log (devices.logSerialConsole),
// the rotated part then the current one. The launcher writes both in the VM's run
// directory; the handler reads them as files a less trusted process made: opened
// without following a link, taken only as a regular file with one link (not a
// hard link to a file of the host), and never more than the launcher may keep.

import { constants, promises as fs } from 'node:fs';
import { VirtnodeError } from '../../proto/errors.js';
import { CONSOLE_LOG_BYTES } from '../../proto/launch.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { VmiController } from '../controller/vmi.js';
import { runningVmi } from './vnc.js';

export async function serialConsoleLog(vmis: Pick<VmiController, 'runtime'>, vmi: VirtualMachineInstance): Promise<Buffer> {
  const devices = vmi.spec.domain.devices;
  const id = `${vmi.metadata.namespace}/${vmi.metadata.name}`;
  if (devices.autoattachSerialConsole === false) throw new VirtnodeError('VN_UNSUPPORTED', `logs: VMI ${id} has no serial console (spec.domain.devices.autoattachSerialConsole is false)`);
  if (devices.logSerialConsole === false) throw new VirtnodeError('VN_UNSUPPORTED', `logs: VMI ${id} keeps no console log (spec.domain.devices.logSerialConsole is false)`);
  const path = runningVmi(vmis, vmi, 'logs').sandbox!.paths.consoleLog;
  return Buffer.concat([await readTail(`${path}.1`), await readTail(path)]);
}

/** The last CONSOLE_LOG_BYTES of `path`; empty when it does not exist (the guest said nothing yet). */
export async function readTail(path: string, max = CONSOLE_LOG_BYTES): Promise<Buffer> {
  let file;
  try {
    file = await fs.open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw new VirtnodeError('VN_SANDBOX', `reading ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const st = await file.stat();
    if (!st.isFile() || st.nlink !== 1) throw new VirtnodeError('VN_SANDBOX', `${path} is not the console log the launcher writes`);
    const n = Math.min(st.size, max);
    const buf = Buffer.alloc(n);
    const { bytesRead } = await file.read(buf, 0, n, st.size - n);
    return buf.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}
