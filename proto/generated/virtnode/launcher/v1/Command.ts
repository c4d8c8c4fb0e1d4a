// Original file: launcher.proto

import type { Sync as _virtnode_launcher_v1_Sync, Sync__Output as _virtnode_launcher_v1_Sync__Output } from '../../../virtnode/launcher/v1/Sync.js';
import type { Empty as _virtnode_launcher_v1_Empty, Empty__Output as _virtnode_launcher_v1_Empty__Output } from '../../../virtnode/launcher/v1/Empty.js';
import type { Shutdown as _virtnode_launcher_v1_Shutdown, Shutdown__Output as _virtnode_launcher_v1_Shutdown__Output } from '../../../virtnode/launcher/v1/Shutdown.js';
import type { AttachVolume as _virtnode_launcher_v1_AttachVolume, AttachVolume__Output as _virtnode_launcher_v1_AttachVolume__Output } from '../../../virtnode/launcher/v1/AttachVolume.js';
import type { DetachVolume as _virtnode_launcher_v1_DetachVolume, DetachVolume__Output as _virtnode_launcher_v1_DetachVolume__Output } from '../../../virtnode/launcher/v1/DetachVolume.js';
import type { StatsRequest as _virtnode_launcher_v1_StatsRequest, StatsRequest__Output as _virtnode_launcher_v1_StatsRequest__Output } from '../../../virtnode/launcher/v1/StatsRequest.js';
import type { GuestAgentQuery as _virtnode_launcher_v1_GuestAgentQuery, GuestAgentQuery__Output as _virtnode_launcher_v1_GuestAgentQuery__Output } from '../../../virtnode/launcher/v1/GuestAgentQuery.js';
import type { Freeze as _virtnode_launcher_v1_Freeze, Freeze__Output as _virtnode_launcher_v1_Freeze__Output } from '../../../virtnode/launcher/v1/Freeze.js';
import type { ResizeVolume as _virtnode_launcher_v1_ResizeVolume, ResizeVolume__Output as _virtnode_launcher_v1_ResizeVolume__Output } from '../../../virtnode/launcher/v1/ResizeVolume.js';
import type { Long } from '@grpc/proto-loader';

export interface Command {
  'id'?: (number | string | Long);
  'sync'?: (_virtnode_launcher_v1_Sync | null);
  'pause'?: (_virtnode_launcher_v1_Empty | null);
  'unpause'?: (_virtnode_launcher_v1_Empty | null);
  'shutdown'?: (_virtnode_launcher_v1_Shutdown | null);
  'kill'?: (_virtnode_launcher_v1_Empty | null);
  'softReboot'?: (_virtnode_launcher_v1_Empty | null);
  'reset'?: (_virtnode_launcher_v1_Empty | null);
  'attachVolume'?: (_virtnode_launcher_v1_AttachVolume | null);
  'detachVolume'?: (_virtnode_launcher_v1_DetachVolume | null);
  'stats'?: (_virtnode_launcher_v1_StatsRequest | null);
  'guestAgent'?: (_virtnode_launcher_v1_GuestAgentQuery | null);
  'freeze'?: (_virtnode_launcher_v1_Freeze | null);
  'unfreeze'?: (_virtnode_launcher_v1_Empty | null);
  /**
   * QEMU's screendump of the display as PNG; refused without a graphics device.
   */
  'screenshot'?: (_virtnode_launcher_v1_Empty | null);
  'resizeVolume'?: (_virtnode_launcher_v1_ResizeVolume | null);
  'op'?: "sync"|"pause"|"unpause"|"shutdown"|"kill"|"softReboot"|"reset"|"attachVolume"|"detachVolume"|"stats"|"guestAgent"|"freeze"|"unfreeze"|"screenshot"|"resizeVolume";
}

export interface Command__Output {
  'id': (number);
  'sync'?: (_virtnode_launcher_v1_Sync__Output | null);
  'pause'?: (_virtnode_launcher_v1_Empty__Output | null);
  'unpause'?: (_virtnode_launcher_v1_Empty__Output | null);
  'shutdown'?: (_virtnode_launcher_v1_Shutdown__Output | null);
  'kill'?: (_virtnode_launcher_v1_Empty__Output | null);
  'softReboot'?: (_virtnode_launcher_v1_Empty__Output | null);
  'reset'?: (_virtnode_launcher_v1_Empty__Output | null);
  'attachVolume'?: (_virtnode_launcher_v1_AttachVolume__Output | null);
  'detachVolume'?: (_virtnode_launcher_v1_DetachVolume__Output | null);
  'stats'?: (_virtnode_launcher_v1_StatsRequest__Output | null);
  'guestAgent'?: (_virtnode_launcher_v1_GuestAgentQuery__Output | null);
  'freeze'?: (_virtnode_launcher_v1_Freeze__Output | null);
  'unfreeze'?: (_virtnode_launcher_v1_Empty__Output | null);
  /**
   * QEMU's screendump of the display as PNG; refused without a graphics device.
   */
  'screenshot'?: (_virtnode_launcher_v1_Empty__Output | null);
  'resizeVolume'?: (_virtnode_launcher_v1_ResizeVolume__Output | null);
  'op'?: "sync"|"pause"|"unpause"|"shutdown"|"kill"|"softReboot"|"reset"|"attachVolume"|"detachVolume"|"stats"|"guestAgent"|"freeze"|"unfreeze"|"screenshot"|"resizeVolume";
}
