// Original file: launcher.proto

import type { PreparedVolume as _virtnode_launcher_v1_PreparedVolume, PreparedVolume__Output as _virtnode_launcher_v1_PreparedVolume__Output } from '../../../virtnode/launcher/v1/PreparedVolume.js';
import type { KernelBoot as _virtnode_launcher_v1_KernelBoot, KernelBoot__Output as _virtnode_launcher_v1_KernelBoot__Output } from '../../../virtnode/launcher/v1/KernelBoot.js';
import type { PreparedInterface as _virtnode_launcher_v1_PreparedInterface, PreparedInterface__Output as _virtnode_launcher_v1_PreparedInterface__Output } from '../../../virtnode/launcher/v1/PreparedInterface.js';
import type { Smbios as _virtnode_launcher_v1_Smbios, Smbios__Output as _virtnode_launcher_v1_Smbios__Output } from '../../../virtnode/launcher/v1/Smbios.js';
import type { DeviceState as _virtnode_launcher_v1_DeviceState, DeviceState__Output as _virtnode_launcher_v1_DeviceState__Output } from '../../../virtnode/launcher/v1/DeviceState.js';

/**
 * What the handler prepared for one VMI before its launcher runs: where the sockets
 * live, which accelerator was probed to work, the disk images it made, the kernel it
 * pulled, the taps it made in the pod's network namespace. An empty string means
 * "not set" throughout; proto/launch.ts checks every field on arrival.
 */
export interface LaunchContext {
  /**
   * The VM's run directory (layout in proto/launch.ts): QEMU's sockets are made here.
   */
  'runDir'?: (string);
  /**
   * "kvm" or "tcg": what the node's probe showed to run guests.
   */
  'accelerator'?: (string);
  /**
   * Volume name → the image the disk of that name opens.
   */
  'volumes'?: ({[key: string]: _virtnode_launcher_v1_PreparedVolume});
  /**
   * firmware.kernelBoot: the kernel and initrd taken out of their container image.
   */
  'kernelBoot'?: (_virtnode_launcher_v1_KernelBoot | null);
  /**
   * Interface name → its tap and what the guest's DHCP client is told.
   */
  'interfaces'?: ({[key: string]: _virtnode_launcher_v1_PreparedInterface});
  /**
   * The pod's network namespace (a path under /run/netns). A spare launcher is handed
   * its VM before the pod network exists, and enters it here, before the domain starts.
   */
  'netns'?: (string);
  /**
   * The node's SMBIOS system information (KubeVirt's smbios configuration): what
   * every guest of this node reads in /sys/class/dmi/id.
   */
  'smbios'?: (_virtnode_launcher_v1_Smbios | null);
  /**
   * Where the VM's device state lives: the VM's own directory when the spec asks for
   * it to persist, else the VMI's. The launcher makes what is missing.
   */
  'deviceState'?: (_virtnode_launcher_v1_DeviceState | null);
}

/**
 * What the handler prepared for one VMI before its launcher runs: where the sockets
 * live, which accelerator was probed to work, the disk images it made, the kernel it
 * pulled, the taps it made in the pod's network namespace. An empty string means
 * "not set" throughout; proto/launch.ts checks every field on arrival.
 */
export interface LaunchContext__Output {
  /**
   * The VM's run directory (layout in proto/launch.ts): QEMU's sockets are made here.
   */
  'runDir': (string);
  /**
   * "kvm" or "tcg": what the node's probe showed to run guests.
   */
  'accelerator': (string);
  /**
   * Volume name → the image the disk of that name opens.
   */
  'volumes': ({[key: string]: _virtnode_launcher_v1_PreparedVolume__Output});
  /**
   * firmware.kernelBoot: the kernel and initrd taken out of their container image.
   */
  'kernelBoot': (_virtnode_launcher_v1_KernelBoot__Output | null);
  /**
   * Interface name → its tap and what the guest's DHCP client is told.
   */
  'interfaces': ({[key: string]: _virtnode_launcher_v1_PreparedInterface__Output});
  /**
   * The pod's network namespace (a path under /run/netns). A spare launcher is handed
   * its VM before the pod network exists, and enters it here, before the domain starts.
   */
  'netns': (string);
  /**
   * The node's SMBIOS system information (KubeVirt's smbios configuration): what
   * every guest of this node reads in /sys/class/dmi/id.
   */
  'smbios': (_virtnode_launcher_v1_Smbios__Output | null);
  /**
   * Where the VM's device state lives: the VM's own directory when the spec asks for
   * it to persist, else the VMI's. The launcher makes what is missing.
   */
  'deviceState': (_virtnode_launcher_v1_DeviceState__Output | null);
}
