// Original file: launcher.proto

import type { PreparedVolume as _virtnode_launcher_v1_PreparedVolume, PreparedVolume__Output as _virtnode_launcher_v1_PreparedVolume__Output } from '../../../virtnode/launcher/v1/PreparedVolume.js';

/**
 * Hot-plugs a disk into the running domain (virt-launcher's hotplug of a volume):
 * the handler has judged and prepared its file; the launcher opens it as at start
 * (beneath its root, the vetted inode), hands QEMU the fd (add-fd) and adds the
 * block nodes and the guest device, undoing what it did when a step fails.
 * Attaching a volume already attached (a resend after a handler restart) answers
 * with its target and changes nothing.
 */
export interface AttachVolume {
  /**
   * The kubevirt.io/v1 Disk and Volume as the VMI spec holds them (JSON).
   */
  'diskJson'?: (string);
  'volumeJson'?: (string);
  'prepared'?: (_virtnode_launcher_v1_PreparedVolume | null);
}

/**
 * Hot-plugs a disk into the running domain (virt-launcher's hotplug of a volume):
 * the handler has judged and prepared its file; the launcher opens it as at start
 * (beneath its root, the vetted inode), hands QEMU the fd (add-fd) and adds the
 * block nodes and the guest device, undoing what it did when a step fails.
 * Attaching a volume already attached (a resend after a handler restart) answers
 * with its target and changes nothing.
 */
export interface AttachVolume__Output {
  /**
   * The kubevirt.io/v1 Disk and Volume as the VMI spec holds them (JSON).
   */
  'diskJson': (string);
  'volumeJson': (string);
  'prepared': (_virtnode_launcher_v1_PreparedVolume__Output | null);
}
