// A preference onto a VM's template, as KubeVirt's preference/apply does it: each
// preferred value fills the VMI field only where the VM left it unset, so a
// preference never conflicts. Two exceptions are KubeVirt's own (its fields are
// values, not pointers, so "unset" cannot be told): preferredAcpi and
// preferredDisableHotplug overwrite. Every value set is marked in `prov`, so a
// value the VMI's validation refuses (a TPM, EFI, Hyper-V...) is told as the
// preference's field.

import { child, isObj, isSet, type Obj } from './apply-instancetype.js';
import type { Provenance, Source } from './provenance.js';
import type { PreferenceSpec } from './types.js';

type Mark = (path: string, field: string) => void;

/** Applies `p` to the template spec `spec` at `base` and its metadata `meta` at `metaBase`. */
export function applyPreference(p: PreferenceSpec, spec: Obj, meta: Obj, base: string, metaBase: string, prov: Provenance, from: Omit<Source, 'field'>): void {
  const mark: Mark = (path, field) => prov.set(path, { ...from, field });
  const domain = child(spec, 'domain');
  const at = (...parts: string[]): string => `${base}.${parts.join('.')}`;

  // CPU features the VM did not name already.
  const features = p.cpu?.preferredCPUFeatures ?? [];
  if (features.length) {
    const cpu = child(domain, 'cpu');
    const have = Array.isArray(cpu.features) ? (cpu.features as Obj[]) : [];
    const names = new Set(have.map((f) => f?.name));
    const add = features.filter((f) => !names.has(f.name));
    if (add.length) {
      cpu.features = [...have, ...structuredClone(add)];
      add.forEach((_, i) => mark(at('domain', 'cpu', `features[${have.length + i}]`), 'spec.cpu.preferredCPUFeatures'));
      if (have.length === 0) mark(at('domain', 'cpu', 'features'), 'spec.cpu.preferredCPUFeatures');
    }
  }

  applyDevices(p, domain, spec, at, mark);
  applyFeatures(p, domain, at, mark);
  applyFirmware(p, domain, at, mark);

  const machineType = p.machine?.preferredMachineType;
  if (machineType && !isSet(isObj(domain.machine) ? domain.machine : undefined, 'type')) {
    child(domain, 'machine').type = machineType;
    mark(at('domain', 'machine', 'type'), 'spec.machine.preferredMachineType');
  }

  if (isObj(p.clock)) {
    const made = domain.clock == null;
    const clock = child(domain, 'clock');
    if (p.clock.preferredClockOffset != null && clock.utc == null && clock.timezone == null) {
      Object.assign(clock, structuredClone(p.clock.preferredClockOffset as Obj));
      mark(at('domain', 'clock'), 'spec.clock.preferredClockOffset');
    }
    if (p.clock.preferredTimer != null && clock.timer == null) {
      clock.timer = structuredClone(p.clock.preferredTimer);
      mark(at('domain', 'clock', 'timer'), 'spec.clock.preferredTimer');
      // A clock made only for the timer is refused whole (domain.clock) by the VMI rules.
      if (made && p.clock.preferredClockOffset == null) mark(at('domain', 'clock'), 'spec.clock.preferredTimer');
    }
    if (Object.keys(clock).length === 0) delete domain.clock;
  }

  if (p.preferredSubdomain != null && !isSet(spec, 'subdomain')) {
    spec.subdomain = p.preferredSubdomain;
    mark(at('subdomain'), 'spec.preferredSubdomain');
  }
  if (p.preferredTerminationGracePeriodSeconds != null && spec.terminationGracePeriodSeconds == null) {
    spec.terminationGracePeriodSeconds = p.preferredTerminationGracePeriodSeconds;
    mark(at('terminationGracePeriodSeconds'), 'spec.preferredTerminationGracePeriodSeconds');
  }
  applyArchitecture(p, spec, base, prov, from);

  for (const [k, v] of Object.entries(p.annotations ?? {})) {
    const a = child(meta, 'annotations');
    if (k in a) continue;
    a[k] = v;
    mark(`${metaBase}.annotations.${k}`, `spec.annotations.${k}`);
  }
  if (p.preferredLaunchSecurity != null && domain.launchSecurity == null) {
    domain.launchSecurity = structuredClone(p.preferredLaunchSecurity);
    mark(at('domain', 'launchSecurity'), 'spec.preferredLaunchSecurity');
  }
}

/** preferredArchitecture fills spec.architecture (KubeVirt's VM mutator does this first, and keeps it in the VM). */
export function applyArchitecture(p: PreferenceSpec, spec: Obj, base: string, prov: Provenance, from: Omit<Source, 'field'>): void {
  if (p.preferredArchitecture && !isSet(spec, 'architecture')) {
    spec.architecture = p.preferredArchitecture;
    prov.set(`${base}.architecture`, { ...from, field: 'spec.preferredArchitecture' });
  }
}

function applyDevices(p: PreferenceSpec, domain: Obj, spec: Obj, at: (...p: string[]) => string, mark: Mark): void {
  const d = p.devices;
  if (!isObj(d)) return;
  const devices = child(domain, 'devices');
  const fill = (pref: string, vmiField: string): void => {
    if (d[pref] == null || devices[vmiField] != null) return;
    devices[vmiField] = structuredClone(d[pref]);
    mark(at('domain', 'devices', vmiField), `spec.devices.${pref}`);
  };
  fill('preferredUseVirtioTransitional', 'useVirtioTransitional');
  fill('preferredBlockMultiQueue', 'blockMultiQueue');
  fill('preferredNetworkInterfaceMultiQueue', 'networkInterfaceMultiqueue');
  if (d.preferredDisableHotplug != null) {
    devices.disableHotplug = d.preferredDisableHotplug;
    mark(at('domain', 'devices', 'disableHotplug'), 'spec.devices.preferredDisableHotplug');
  }
  if (isSet(d, 'preferredSoundModel') && isObj(devices.sound) && !isSet(devices.sound, 'model')) {
    devices.sound.model = d.preferredSoundModel;
    mark(at('domain', 'devices', 'sound', 'model'), 'spec.devices.preferredSoundModel');
  }
  fill('preferredRng', 'rng');
  fill('preferredTPM', 'tpm');
  if (d.preferredVideoType != null) {
    const video = child(devices, 'video');
    if (!isSet(video, 'type')) {
      video.type = d.preferredVideoType;
      mark(at('domain', 'devices', 'video'), 'spec.devices.preferredVideoType');
    }
  }
  applyAutoattach(p, devices, at, mark);

  (Array.isArray(devices.disks) ? devices.disks : []).forEach((disk: unknown, i) => {
    if (!isObj(disk)) return;
    const dp = (...x: string[]): string => at('domain', 'devices', `disks[${i}]`, ...x);
    // A disk that names no target is a disk (KubeVirt's default), so preferences reach it.
    if (disk.disk == null && disk.cdrom == null && disk.lun == null) disk.disk = {};
    if (isObj(disk.disk)) {
      const target = disk.disk;
      if (isSet(d, 'preferredDiskBus') && !isSet(target, 'bus')) {
        target.bus = d.preferredDiskBus;
        mark(dp('disk', 'bus'), 'spec.devices.preferredDiskBus');
      }
      if (d.preferredDiskBlockSize != null && disk.blockSize == null) {
        disk.blockSize = structuredClone(d.preferredDiskBlockSize);
        mark(dp('blockSize'), 'spec.devices.preferredDiskBlockSize');
      }
      if (isSet(d, 'preferredDiskCache') && !isSet(disk, 'cache')) {
        disk.cache = d.preferredDiskCache;
        mark(dp('cache'), 'spec.devices.preferredDiskCache');
      }
      if (isSet(d, 'preferredDiskIO') && !isSet(disk, 'io')) {
        disk.io = d.preferredDiskIO;
        mark(dp('io'), 'spec.devices.preferredDiskIO');
      }
      if (d.preferredDiskDedicatedIoThread != null && disk.dedicatedIOThread == null && target.bus === 'virtio') {
        disk.dedicatedIOThread = d.preferredDiskDedicatedIoThread;
        mark(dp('dedicatedIOThread'), 'spec.devices.preferredDiskDedicatedIoThread');
      }
    } else if (isObj(disk.cdrom)) {
      if (isSet(d, 'preferredCdromBus') && !isSet(disk.cdrom, 'bus')) {
        disk.cdrom.bus = d.preferredCdromBus;
        mark(dp('cdrom', 'bus'), 'spec.devices.preferredCdromBus');
      }
    } else if (isObj(disk.lun)) {
      if (isSet(d, 'preferredLunBus') && !isSet(disk.lun, 'bus')) {
        disk.lun.bus = d.preferredLunBus;
        mark(dp('lun', 'bus'), 'spec.devices.preferredLunBus');
      }
    }
  });

  const networks = Array.isArray(spec.networks) ? (spec.networks as Obj[]) : [];
  (Array.isArray(devices.interfaces) ? devices.interfaces : []).forEach((iface: unknown, i) => {
    if (!isObj(iface)) return;
    const ip = (...x: string[]): string => at('domain', 'devices', `interfaces[${i}]`, ...x);
    if (isSet(d, 'preferredInterfaceModel') && !isSet(iface, 'model')) {
      iface.model = d.preferredInterfaceModel;
      mark(ip('model'), 'spec.devices.preferredInterfaceModel');
    }
    const bindingUnset = !['bridge', 'masquerade', 'sriov', 'slirp', 'passt', 'macvtap', 'binding'].some((b) => iface[b] != null);
    const onPod = networks.some((n) => isObj(n) && n.name === iface.name && n.pod != null);
    if (d.preferredInterfaceMasquerade != null && bindingUnset && onPod) {
      iface.masquerade = structuredClone(d.preferredInterfaceMasquerade);
      mark(ip('masquerade'), 'spec.devices.preferredInterfaceMasquerade');
    }
  });

  (Array.isArray(devices.inputs) ? devices.inputs : []).forEach((input: unknown, i) => {
    if (!isObj(input)) return;
    for (const [pref, k] of [['preferredInputBus', 'bus'], ['preferredInputType', 'type']] as const) {
      if (isSet(d, pref) && !isSet(input, k)) {
        input[k] = d[pref];
        mark(at('domain', 'devices', `inputs[${i}]`, k), `spec.devices.${pref}`);
      }
    }
  });

  if (d.preferredPanicDeviceModel != null) {
    const panics = Array.isArray(devices.panicDevices) ? (devices.panicDevices as Obj[]) : [];
    if (panics.length === 0) {
      devices.panicDevices = [{ model: d.preferredPanicDeviceModel }];
      mark(at('domain', 'devices', 'panicDevices'), 'spec.devices.preferredPanicDeviceModel');
    } else {
      panics.forEach((pd, i) => {
        if (!isObj(pd) || pd.model != null) return;
        pd.model = d.preferredPanicDeviceModel;
        mark(at('domain', 'devices', `panicDevices[${i}]`, 'model'), 'spec.devices.preferredPanicDeviceModel');
      });
    }
  }
}

/**
 * The autoattach preferences, which KubeVirt applies to the VMI before it adds the
 * default pod interface (so preferredAutoattachPodInterface: false keeps it out).
 */
export function applyAutoattach(p: PreferenceSpec, devices: Obj, at: (...p: string[]) => string, mark: Mark): void {
  const d = p.devices;
  if (!isObj(d)) return;
  for (const k of ['GraphicsDevice', 'MemBalloon', 'PodInterface', 'SerialConsole', 'InputDevice']) {
    const pref = `preferredAutoattach${k}`;
    const vmiField = `autoattach${k}`;
    if (d[pref] == null || devices[vmiField] != null) continue;
    devices[vmiField] = d[pref];
    mark(at('domain', 'devices', vmiField), `spec.devices.${pref}`);
  }
}

function applyFeatures(p: PreferenceSpec, domain: Obj, at: (...p: string[]) => string, mark: Mark): void {
  const f = p.features;
  if (!isObj(f)) return;
  const features = child(domain, 'features');
  // KubeVirt's Features.ACPI is a value: a preferred one always wins.
  if (f.preferredAcpi != null) {
    features.acpi = structuredClone(f.preferredAcpi);
    mark(at('domain', 'features', 'acpi'), 'spec.features.preferredAcpi');
  }
  for (const [pref, k] of [['preferredApic', 'apic'], ['preferredKvm', 'kvm'], ['preferredPvspinlock', 'pvspinlock'], ['preferredSmm', 'smm']] as const) {
    if (f[pref] == null || features[k] != null) continue;
    features[k] = structuredClone(f[pref]);
    mark(at('domain', 'features', k), `spec.features.${pref}`);
  }
  if (isObj(f.preferredHyperv)) {
    if (features.hyperv == null) mark(at('domain', 'features', 'hyperv'), 'spec.features.preferredHyperv');
    const hyperv = child(features, 'hyperv');
    for (const [k, v] of Object.entries(f.preferredHyperv)) {
      if (v == null || hyperv[k] != null) continue;
      hyperv[k] = structuredClone(v);
      mark(at('domain', 'features', 'hyperv', k), `spec.features.preferredHyperv.${k}`);
    }
    if (Object.keys(hyperv).length === 0) delete features.hyperv;
  }
  if (Object.keys(features).length === 0) delete domain.features;
}

function applyFirmware(p: PreferenceSpec, domain: Obj, at: (...p: string[]) => string, mark: Mark): void {
  const fw = p.firmware;
  if (!isObj(fw)) return;
  const firmware = child(domain, 'firmware');
  const bootloader = child(firmware, 'bootloader');
  const path = (...x: string[]): string => at('domain', 'firmware', 'bootloader', ...x);
  if (fw.preferredUseBios === true && bootloader.bios == null && bootloader.efi == null) {
    bootloader.bios = {};
    mark(path('bios'), 'spec.firmware.preferredUseBios');
  }
  if (fw.preferredUseBiosSerial != null && isObj(bootloader.bios) && bootloader.bios.useSerial == null) {
    bootloader.bios.useSerial = fw.preferredUseBiosSerial;
    mark(path('bios', 'useSerial'), 'spec.firmware.preferredUseBiosSerial');
  }
  if (bootloader.efi == null && bootloader.bios == null && fw.preferredEfi != null) {
    bootloader.efi = structuredClone(fw.preferredEfi);
    mark(path('efi'), 'spec.firmware.preferredEfi');
  } else {
    if (fw.preferredUseEfi === true && bootloader.efi == null && bootloader.bios == null) {
      bootloader.efi = {};
      mark(path('efi'), 'spec.firmware.preferredUseEfi');
    }
    if (fw.preferredUseSecureBoot != null && isObj(bootloader.efi) && bootloader.efi.secureBoot == null) {
      bootloader.efi.secureBoot = fw.preferredUseSecureBoot;
      mark(path('efi', 'secureBoot'), 'spec.firmware.preferredUseSecureBoot');
    }
  }
  if (Object.keys(bootloader).length === 0) delete firmware.bootloader;
  if (Object.keys(firmware).length === 0) delete domain.firmware;
}
