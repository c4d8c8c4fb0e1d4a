// Volume hotplug: virt-controller's and virt-handler's part of addvolume and
// removevolume, for the hostDisk volumes of one running VMI. The request is desired
// state first: the disk and volume go into the VMI's spec and a status.volumeStatus
// entry (with hotplugVolume) says how far it got; the reconciler then closes the gap
// with the launcher, level-triggered, so a handler restart in between picks up where
// the last one was:
//
//   Pending ─file judged and held (the runtime record keeps it)→ AttachedToNode
//   AttachedToNode ─launcher: add-fd, blockdev-add, device_add→ Ready (target, size)
//   a volume gone from the spec ─→ Detaching ─launcher: device_del, DEVICE_DELETED,
//   blockdev-del→ entry removed, hold dropped
//
// A refused attach (the file went bad, QEMU said no) is undone whole: the spec and
// status lose the volume again, the hold is dropped, an Event says why. A launcher
// that cannot be reached is retried (the work queue's back-off), and so is an unplug
// whose DEVICE_DELETED did not come in time. The launcher's steps are idempotent,
// so a retry after a lost answer repeats nothing.

import type { Logger } from 'pino';
import { errorMessage, InvalidSpecError, isVirtnodeError } from '../../proto/errors.js';
import { encodePreparedVolume } from '../../proto/launch.js';
import type { HotplugRequest } from '../../proto/vmi/validate-hotplug.js';
import type { VirtualMachineInstance, VolumePhase, VolumeStatus } from '../../proto/vmi/types.js';
import type { HostDisks } from '../hostdisk/host-disks.js';
import type { VmiRuntime } from './vmi-runtime.js';
import type { VmiStatusWriter } from './vmi-status.js';

/** How long QEMU has to report an unplugged disk's device deleted. */
export const DETACH_TIMEOUT_SECONDS = 30;
const ATTACH_COMMAND_TIMEOUT_MS = 60_000;

export interface HotplugEnv {
  log: Logger;
  status: VmiStatusWriter;
  hostDisks?: HostDisks;
}

/** How one volume's hot-plug or unplug ended, for whoever waits on it. */
export type HotplugOutcome = { volume: string; op: 'add' | 'remove'; ok: true; status?: VolumeStatus } | { volume: string; op: 'add' | 'remove'; ok: false; message: string; final: boolean };

/** The volumeStatus entries of hot-plugged volumes. */
export function hotplugStatuses(vmi: VirtualMachineInstance): VolumeStatus[] {
  return (vmi.status?.volumeStatus ?? []).filter((v) => v.hotplugVolume !== undefined);
}

/** Stores an addvolume: the disk and volume in the spec, and a Pending volumeStatus. */
export function requestAdd(env: HotplugEnv, vmi: VirtualMachineInstance, req: HotplugRequest): Promise<void> {
  const name = req.volume.name;
  return env.status.update(vmi, (o) => {
    const devices = o.spec.domain.devices;
    if ((o.spec.volumes ?? []).some((v) => v.name === name) || (devices.disks ?? []).some((d) => d.name === name)) return false;
    devices.disks = [...(devices.disks ?? []), req.disk];
    o.spec.volumes = [...(o.spec.volumes ?? []), req.volume];
    o.status!.volumeStatus = [
      ...(o.status!.volumeStatus ?? []).filter((v) => v.name !== name),
      { name, target: '', phase: 'Pending', reason: 'VolumePending', message: `hostDisk volume ${name} is being attached`, hotplugVolume: {} },
    ];
  });
}

/** Stores a removevolume: the disk and volume leave the spec; the status says Detaching. */
export function requestRemove(env: HotplugEnv, vmi: VirtualMachineInstance, name: string): Promise<void> {
  return env.status.update(vmi, (o) => {
    dropFromSpec(o, name);
    setVolume(o, name, { phase: 'Detaching', reason: 'VolumeDetaching', message: `hostDisk volume ${name} is being detached` });
  });
}

/**
 * Brings the hot-plugged volumes of a running VMI to what its spec says, one at a
 * time, and reports how each change ended. Throws (for the work queue to retry)
 * when the launcher could not be asked.
 */
export async function syncVolumes(env: HotplugEnv, vmi: VirtualMachineInstance, rt: VmiRuntime): Promise<HotplugOutcome[]> {
  const out: HotplugOutcome[] = [];
  for (const vs of hotplugStatuses(vmi)) {
    const inSpec = (vmi.spec.volumes ?? []).some((v) => v.name === vs.name);
    if (inSpec && vs.phase !== 'Ready') out.push(await attach(env, vmi, rt, vs.name));
    else if (!inSpec) out.push(await detach(env, vmi, rt, vs.name));
  }
  return out;
}

async function attach(env: HotplugEnv, vmi: VirtualMachineInstance, rt: VmiRuntime, name: string): Promise<HotplugOutcome> {
  const sb = rt.sandbox!;
  const ctx = sb.runtime.launchContext!;
  const log = env.log.child({ volume: name });
  let prepared = ctx.volumes[name];
  if (!prepared) {
    try {
      if (!env.hostDisks) throw new InvalidSpecError([{ path: 'volumeSource.hostDisk', message: 'HostDisk feature gate is not enabled: this node has no host disk root (--host-disk-root)' }]);
      prepared = env.hostDisks.prepareVolume(vmi, name);
    } catch (e) {
      return rollback(env, vmi, rt, name, `the hostDisk of volume ${name} cannot be attached: ${errorMessage(e)}`);
    }
    // Recorded before the launcher is asked: a restarted handler holds the file again (recoverVmi).
    ctx.volumes[name] = prepared;
    await sb.save();
    await env.status.update(vmi, (o) => setVolume(o, name, { phase: 'AttachedToNode', reason: 'VolumeAttachedToNode', message: `hostDisk ${prepared!.path} is held for the VMI` }));
  }
  const disk = vmi.spec.domain.devices.disks?.find((d) => d.name === name);
  const volume = vmi.spec.volumes?.find((v) => v.name === name);
  if (!disk || !volume) return rollback(env, vmi, rt, name, `volume ${name} has no disk of that name`);
  const launcher = rt.launcher;
  if (!launcher || launcher.state !== 'running') throw new Error(`the launcher of ${rt.key} is not running its domain (${launcher?.state ?? 'absent'}); volume ${name} waits`);
  let target: { target: string; sizeBytes: number };
  try {
    const result = await launcher.command({ attachVolume: { diskJson: JSON.stringify(disk), volumeJson: JSON.stringify(volume), prepared: encodePreparedVolume(prepared) } }, ATTACH_COMMAND_TIMEOUT_MS);
    if (!result.volume) throw new Error('the launcher answered attach_volume without the volume target');
    target = { target: result.volume.target, sizeBytes: Number(result.volume.sizeBytes) };
  } catch (e) {
    if (transient(e)) throw e;
    return rollback(env, vmi, rt, name, `attaching volume ${name} failed: ${errorMessage(e)}`);
  }
  const status: VolumeStatus & { phase: VolumePhase } = { name, target: target.target, ...(target.sizeBytes ? { size: target.sizeBytes } : {}), phase: 'Ready', reason: 'VolumeReady', message: `Successfully attach hotplugged volume ${name} to VM`, hotplugVolume: {} };
  await env.status.update(vmi, (o) => setVolume(o, name, status));
  env.status.event(vmi, 'Normal', 'VolumeReady', `hostDisk volume ${name} is attached as ${target.target}`);
  log.info({ target: target.target, sizeBytes: target.sizeBytes }, 'volume hot-plugged');
  return { volume: name, op: 'add', ok: true, status };
}

async function detach(env: HotplugEnv, vmi: VirtualMachineInstance, rt: VmiRuntime, name: string): Promise<HotplugOutcome> {
  const launcher = rt.launcher;
  if (!launcher || launcher.state !== 'running') throw new Error(`the launcher of ${rt.key} is not running its domain (${launcher?.state ?? 'absent'}); volume ${name} waits to be detached`);
  try {
    await launcher.command({ detachVolume: { name, timeoutSeconds: DETACH_TIMEOUT_SECONDS } }, (DETACH_TIMEOUT_SECONDS + 15) * 1000);
  } catch (e) {
    // Not connected (yet: a handler restart): retried quietly; the caller waits on.
    if (isVirtnodeError(e) && e.code === 'VN_UNAVAILABLE') throw e;
    const message = `detaching volume ${name} failed (retrying): ${errorMessage(e)}`;
    await env.status.update(vmi, (o) => setVolume(o, name, { phase: 'Detaching', reason: 'VolumeDetachFailed', message }));
    env.status.event(vmi, 'Warning', 'VolumeDetachFailed', message);
    // Retried with the queue's back-off; the waiter hears now.
    throw Object.assign(new Error(message), { outcome: { volume: name, op: 'remove', ok: false, message, final: false } satisfies HotplugOutcome });
  }
  await forget(env, rt, name);
  await env.status.update(vmi, (o) => {
    o.status!.volumeStatus = (o.status!.volumeStatus ?? []).filter((v) => v.name !== name);
  });
  env.status.event(vmi, 'Normal', 'VolumeDetached', `hostDisk volume ${name} was detached`);
  env.log.info({ volume: name }, 'volume hot-unplugged');
  return { volume: name, op: 'remove', ok: true };
}

/** A failed hot-plug leaves nothing: not in the spec, not in the status, no hold, not in the record. */
async function rollback(env: HotplugEnv, vmi: VirtualMachineInstance, rt: VmiRuntime, name: string, message: string): Promise<HotplugOutcome> {
  await forget(env, rt, name, { discardMade: true });
  await env.status.update(vmi, (o) => {
    dropFromSpec(o, name);
    o.status!.volumeStatus = (o.status!.volumeStatus ?? []).filter((v) => v.name !== name);
  });
  env.status.event(vmi, 'Warning', 'VolumeAttachFailed', message);
  env.log.warn({ volume: name, err: message }, 'volume hot-plug failed; undone');
  return { volume: name, op: 'add', ok: false, message, final: true };
}

/**
 * Drops the volume's hold and its entry in the runtime record; `discardMade`: a
 * DiskOrCreate file made for this hot-plug goes too (the guest never had it).
 */
async function forget(env: HotplugEnv, rt: VmiRuntime, name: string, opts: { discardMade?: boolean } = {}): Promise<void> {
  const sb = rt.sandbox;
  const ctx = sb?.runtime.launchContext;
  const prepared = ctx?.volumes[name];
  if (prepared?.hostFile) {
    env.hostDisks?.releaseFile(rt.uid, prepared.hostFile);
    if (opts.discardMade && env.hostDisks?.discardMade(prepared.hostFile)) env.log.info({ volume: name, path: prepared.path }, 'removed the hostDisk file made for a hot-plug that was undone');
  }
  if (ctx && prepared) {
    delete ctx.volumes[name];
    await sb!.save();
  }
}

function dropFromSpec(o: VirtualMachineInstance, name: string): void {
  const devices = o.spec.domain.devices;
  devices.disks = (devices.disks ?? []).filter((d) => d.name !== name);
  o.spec.volumes = (o.spec.volumes ?? []).filter((v) => v.name !== name);
}

function setVolume(o: VirtualMachineInstance, name: string, change: Partial<VolumeStatus> & { phase: VolumePhase }): void {
  o.status!.volumeStatus = (o.status!.volumeStatus ?? []).map((v) => (v.name === name ? { ...v, ...change } : v));
}

/** Worth another try later: the launcher was not there, or did not answer in time. */
function transient(e: unknown): boolean {
  return isVirtnodeError(e) && (e.code === 'VN_UNAVAILABLE' || e.code === 'VN_TIMEOUT');
}
