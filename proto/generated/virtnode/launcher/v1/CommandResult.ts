// Original file: launcher.proto

import type { VolumeTarget as _virtnode_launcher_v1_VolumeTarget, VolumeTarget__Output as _virtnode_launcher_v1_VolumeTarget__Output } from '../../../virtnode/launcher/v1/VolumeTarget.js';
import type { QemuStats as _virtnode_launcher_v1_QemuStats, QemuStats__Output as _virtnode_launcher_v1_QemuStats__Output } from '../../../virtnode/launcher/v1/QemuStats.js';
import type { Long } from '@grpc/proto-loader';

export interface CommandResult {
  'commandId'?: (number | string | Long);
  'ok'?: (boolean);
  'errorCode'?: (string);
  'errorMessage'?: (string);
  /**
   * attach_volume: where the hot-plugged disk sits in the guest.
   */
  'volume'?: (_virtnode_launcher_v1_VolumeTarget | null);
  /**
   * The answer of a stats command.
   */
  'stats'?: (_virtnode_launcher_v1_QemuStats | null);
  /**
   * The answer of a guest_agent query (kubevirt.io/v1 JSON).
   */
  'agentJson'?: (string);
  /**
   * What the launcher did, in words, where it had a choice (soft_reboot: through
   * the guest agent or the ACPI power button).
   */
  'message'?: (string);
  /**
   * The answer of a screenshot command: the guest's screen as PNG.
   */
  'screenshotPng'?: (Buffer | Uint8Array | string);
}

export interface CommandResult__Output {
  'commandId': (number);
  'ok': (boolean);
  'errorCode': (string);
  'errorMessage': (string);
  /**
   * attach_volume: where the hot-plugged disk sits in the guest.
   */
  'volume': (_virtnode_launcher_v1_VolumeTarget__Output | null);
  /**
   * The answer of a stats command.
   */
  'stats': (_virtnode_launcher_v1_QemuStats__Output | null);
  /**
   * The answer of a guest_agent query (kubevirt.io/v1 JSON).
   */
  'agentJson': (string);
  /**
   * What the launcher did, in words, where it had a choice (soft_reboot: through
   * the guest agent or the ACPI power button).
   */
  'message': (string);
  /**
   * The answer of a screenshot command: the guest's screen as PNG.
   */
  'screenshotPng': (Buffer);
}
