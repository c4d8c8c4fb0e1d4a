// What the VNC and Screenshot calls need of a running VMI: its launcher's VNC socket,
// or its screen as PNG through the launcher (QEMU's screendump). A VMI without a
// graphics device (autoattachGraphicsDevice: false) is refused with that reason, as
// virt-api refuses it ("No graphics devices are present").

import { VirtnodeError } from '../../proto/errors.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { VmiController } from '../controller/vmi.js';
import type { VmiRuntime } from '../controller/vmi-runtime.js';

/** A screendump crosses the launcher session and QEMU writes a file: give it time under TCG. */
const SCREENSHOT_TIMEOUT_MS = 20_000;

/** The runtime of a running VMI, or an error saying why `what` cannot reach it. */
export function runningVmi(vmis: Pick<VmiController, 'runtime'>, vmi: VirtualMachineInstance, what: string): VmiRuntime {
  const { namespace, name } = vmi.metadata;
  const rt = vmis.runtime(namespace!, name)?.rt;
  if (vmi.status?.phase !== 'Running' || !rt?.sandbox) {
    throw new VirtnodeError('VN_UNAVAILABLE', `${what}: VMI ${namespace}/${name} is not running (phase ${vmi.status?.phase ?? 'Pending'})`);
  }
  return rt;
}

function needGraphics(vmi: VirtualMachineInstance, what: string): void {
  if (vmi.spec.domain.devices.autoattachGraphicsDevice === false) {
    throw new VirtnodeError('VN_UNSUPPORTED', `${what}: VMI ${vmi.metadata.namespace}/${vmi.metadata.name} has no graphics device (spec.domain.devices.autoattachGraphicsDevice is false)`);
  }
}

/** The socket the VMI's launcher serves its VNC display on. */
export function vncSocket(vmis: Pick<VmiController, 'runtime'>, vmi: VirtualMachineInstance): string {
  needGraphics(vmi, 'vnc');
  return runningVmi(vmis, vmi, 'vnc').sandbox!.paths.vncSocket;
}

/** The guest's screen now, as PNG. */
export async function screenshot(vmis: Pick<VmiController, 'runtime'>, vmi: VirtualMachineInstance): Promise<Buffer> {
  needGraphics(vmi, 'screenshot');
  const rt = runningVmi(vmis, vmi, 'screenshot');
  if (!rt.launcher?.connected) throw new VirtnodeError('VN_UNAVAILABLE', `screenshot: the launcher of ${rt.key} is not connected; try again`);
  const r = await rt.launcher.command({ screenshot: {} }, SCREENSHOT_TIMEOUT_MS);
  if (!r.screenshotPng?.length) throw new VirtnodeError('VN_PROTOCOL', `the launcher of ${rt.key} answered screenshot without an image`);
  return Buffer.from(r.screenshotPng);
}
