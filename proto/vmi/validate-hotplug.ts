// Admission of a volume hot-plug (virtctl addvolume / removevolume, KubeVirt's
// AddVolumeOptions and RemoveVolumeOptions and the rules its API server and
// vmi-update admitter apply to them), before anything is stored: field errors name
// the request's fields (name, disk.disk.bus, volumeSource.hostDisk.path). The
// volume source is virtnode's: a hostDisk, since standalone virtnode has no PVCs or
// DataVolumes (the only sources KubeVirt's HotplugVolumeSource has). The VMI as it
// would be, with the disk and volume added, goes through the VMI's own admission
// too, so a hot-plugged disk obeys every rule a disk written in the manifest does.

import { IllegalTransitionError, InvalidSpecError, type FieldError } from '../errors.js';
import { HOTPLUG_DISK_BUSES } from './devices.js';
import { isDNS1123Label } from './k8s-names.js';
import { isObject, show } from './shape.js';
import type { Disk, VirtualMachineInstance, Volume } from './types.js';
import { validate } from './validate.js';

export interface HotplugRequest {
  disk: Disk;
  volume: Volume;
}

/** The KubeVirt volume sources a hot-plug request may name, and what virtnode says of each. */
const SOURCES: Record<string, string | undefined> = {
  hostDisk: undefined,
  persistentVolumeClaim: 'not supported: standalone virtnode has no PersistentVolumeClaims; hot-plug a hostDisk',
  dataVolume: 'not supported: standalone virtnode has no DataVolumes; hot-plug a hostDisk',
};

/** KubeVirt's check before any hot-plug: the VMI runs and is not going away. */
export function checkHotpluggable(vmi: VirtualMachineInstance, what: 'add' | 'remove'): void {
  const { namespace, name } = vmi.metadata;
  const phase = vmi.metadata.deletionTimestamp ? 'Terminating' : (vmi.status?.phase ?? 'Pending');
  if (phase !== 'Running') throw new IllegalTransitionError(phase, `${what} volume`, `VMI ${namespace}/${name} is not running`);
}

/**
 * Judges an AddVolumeOptions for `vmi` (its stored, defaulted form) and returns the
 * disk and volume to add. Throws InvalidSpecError naming the request's fields, or
 * IllegalTransitionError when the VMI is not running.
 */
export function admitAddVolume(vmi: VirtualMachineInstance, options: unknown): HotplugRequest {
  if (!isObject(options)) throw new InvalidSpecError([{ path: '<root>', message: `must be an object (got ${show(options)})` }]);
  const errors: FieldError[] = [];
  for (const k of Object.keys(options)) if (!['name', 'disk', 'volumeSource', 'dryRun'].includes(k)) errors.push({ path: k, message: `unknown field "${k}"` });
  const name = options.name;
  if (typeof name !== 'string' || name === '') errors.push({ path: 'name', message: 'Required value' });
  else for (const m of isDNS1123Label(name)) errors.push({ path: 'name', message: `Invalid value: ${JSON.stringify(name)}: ${m}` });

  const disk = options.disk === undefined ? { disk: { bus: 'scsi' } } : options.disk;
  if (!isObject(disk)) errors.push({ path: 'disk', message: `must be an object (got ${show(disk)})` });
  else hotplugBus(disk, errors);

  const source = options.volumeSource;
  let sourceKey: string | undefined;
  if (!isObject(source)) {
    errors.push({ path: 'volumeSource', message: source === undefined ? 'Required value' : `must be an object (got ${show(source)})` });
  } else {
    const keys = Object.keys(source);
    if (keys.length !== 1) errors.push({ path: 'volumeSource', message: 'must have exactly one source type set' });
    for (const k of keys) {
      if (!(k in SOURCES)) errors.push({ path: `volumeSource.${k}`, message: `unknown field "${k}"` });
      else if (SOURCES[k] !== undefined) errors.push({ path: `volumeSource.${k}`, message: SOURCES[k]! });
    }
    sourceKey = keys.length === 1 && keys[0] === 'hostDisk' ? 'hostDisk' : undefined;
  }
  if (errors.length) throw new InvalidSpecError(errors);
  checkHotpluggable(vmi, 'add');

  const volumeName = name as string;
  const spec = vmi.spec;
  const taken = [...(spec.domain.devices.disks ?? []).map((d) => ['disk', d.name] as const), ...(spec.volumes ?? []).map((v) => ['volume', v.name] as const)];
  const clash = taken.find(([, n]) => n === volumeName);
  if (clash) throw new InvalidSpecError([{ path: 'name', message: `Duplicate value: ${JSON.stringify(volumeName)}: VMI ${vmi.metadata.namespace}/${vmi.metadata.name} already has a ${clash[0]} of that name` }]);
  // A disk's guest device is "ua-<name>", as an interface's is: QEMU refuses a second device of one id.
  if ((spec.domain.devices.interfaces ?? []).some((i) => i.name === volumeName)) {
    throw new InvalidSpecError([{ path: 'name', message: `Duplicate value: ${JSON.stringify(volumeName)}: VMI ${vmi.metadata.namespace}/${vmi.metadata.name} has an interface of that name, and their guest devices would share the id ua-${volumeName}` }]);
  }
  // Removed from the spec, still unplugging: the name is free only once QEMU let go.
  const leaving = vmi.status?.volumeStatus?.find((v) => v.name === volumeName);
  if (leaving) throw new IllegalTransitionError(leaving.phase ?? 'Detaching', 'add volume', `volume ${volumeName} is still being detached from VMI ${vmi.metadata.namespace}/${vmi.metadata.name}`);

  // KubeVirt: the request's name names the disk and the volume, whatever the disk said.
  const newDisk = { ...(disk as Record<string, unknown>), name: volumeName } as unknown as Disk;
  const newVolume = { name: volumeName, [sourceKey!]: (source as Record<string, unknown>)[sourceKey!] } as unknown as Volume;
  const candidate: VirtualMachineInstance = {
    ...vmi,
    spec: {
      ...spec,
      domain: { ...spec.domain, devices: { ...spec.domain.devices, disks: [...(spec.domain.devices.disks ?? []), newDisk] } },
      volumes: [...(spec.volumes ?? []), newVolume],
    },
  };
  try {
    // The spec is what is judged; metadata the handler wrote (its annotations) is not the user's.
    validate({ apiVersion: vmi.apiVersion, kind: vmi.kind, metadata: { name: vmi.metadata.name, namespace: vmi.metadata.namespace }, spec: candidate.spec }, { podNetworking: true });
  } catch (e) {
    if (!(e instanceof InvalidSpecError)) throw e;
    throw new InvalidSpecError(e.fields.map((f) => ({ path: requestPath(f.path, candidate), message: requestWords(f.message, candidate) })));
  }
  return { disk: newDisk, volume: newVolume };
}

/**
 * Judges a RemoveVolumeOptions: the volume exists on the running VMI and was
 * hot-plugged (KubeVirt: "Unable to remove volume [x] because it is not
 * hotpluggable"). Returns the volume name.
 */
export function admitRemoveVolume(vmi: VirtualMachineInstance, name: string): string {
  if (name === '') throw new InvalidSpecError([{ path: 'name', message: 'Required value' }]);
  checkHotpluggable(vmi, 'remove');
  const volume = vmi.spec.volumes?.find((v) => v.name === name);
  const status = vmi.status?.volumeStatus?.find((v) => v.name === name);
  if (!volume && !status) throw new InvalidSpecError([{ path: 'name', message: `Unable to remove volume [${name}] because it does not exist` }]);
  if (!status?.hotplugVolume) throw new InvalidSpecError([{ path: 'name', message: `Unable to remove volume [${name}] because it is not hotpluggable` }]);
  if (!volume) throw new IllegalTransitionError(status.phase ?? 'Detaching', 'remove volume', `volume ${name} is being removed already`);
  return name;
}

/** The buses a hot-plugged disk may take, and the targets (KubeVirt hot-plugs disks and luns). */
function hotplugBus(disk: Record<string, unknown>, errors: FieldError[]): void {
  const targets = ['disk', 'lun', 'cdrom'].filter((t) => disk[t] !== undefined);
  if (targets.includes('cdrom')) {
    errors.push({ path: 'disk.cdrom', message: 'a cdrom cannot be hot-plugged: use a disk' });
    return;
  }
  const kind = targets[0] ?? 'disk';
  const target = disk[kind];
  const bus = isObject(target) ? target.bus : undefined;
  if (bus === undefined || bus === '') {
    // virtctl always names one; scsi is its default and the one that hot-plugs here.
    if (isObject(target) || target === undefined) disk[kind] = { ...(isObject(target) ? target : {}), bus: 'scsi' };
    return;
  }
  if (typeof bus !== 'string') return; // the shape check says so
  if (!(HOTPLUG_DISK_BUSES as readonly string[]).includes(bus)) {
    const why = bus === 'virtio' ? 'not supported yet: virtnode hot-plugs disks on bus scsi (a virtio disk needs a spare PCIe port, which are kept for NICs)' : `bus ${bus} is not hot-pluggable: use ${HOTPLUG_DISK_BUSES.join(' or ')}`;
    errors.push({ path: `disk.${kind}.bus`, message: why });
  }
}

/** A field path of the candidate VMI in the request's terms: the new disk is `disk`, its volume `volumeSource`. */
function requestPath(path: string, candidate: VirtualMachineInstance): string {
  const di = (candidate.spec.domain.devices.disks ?? []).length - 1;
  const vi = (candidate.spec.volumes ?? []).length - 1;
  const diskPrefix = `spec.domain.devices.disks[${di}]`;
  const volPrefix = `spec.volumes[${vi}]`;
  if (path === diskPrefix || path.startsWith(`${diskPrefix}.`)) return `disk${path.slice(diskPrefix.length)}`;
  if (path === volPrefix) return 'volumeSource';
  if (path.startsWith(`${volPrefix}.name`)) return 'name';
  if (path.startsWith(`${volPrefix}.`)) return `volumeSource${path.slice(volPrefix.length)}`;
  return path;
}

/** The candidate's field paths inside a message, in the request's terms too. */
function requestWords(message: string, candidate: VirtualMachineInstance): string {
  const di = (candidate.spec.domain.devices.disks ?? []).length - 1;
  const vi = (candidate.spec.volumes ?? []).length - 1;
  return message.replaceAll(`spec.domain.devices.disks[${di}]`, 'disk').replaceAll(`spec.volumes[${vi}]`, 'volumeSource');
}
