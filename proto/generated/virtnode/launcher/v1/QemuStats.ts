// Original file: launcher.proto

import type { GuestMemoryStats as _virtnode_launcher_v1_GuestMemoryStats, GuestMemoryStats__Output as _virtnode_launcher_v1_GuestMemoryStats__Output } from '../../../virtnode/launcher/v1/GuestMemoryStats.js';
import type { VcpuThread as _virtnode_launcher_v1_VcpuThread, VcpuThread__Output as _virtnode_launcher_v1_VcpuThread__Output } from '../../../virtnode/launcher/v1/VcpuThread.js';
import type { BlockStats as _virtnode_launcher_v1_BlockStats, BlockStats__Output as _virtnode_launcher_v1_BlockStats__Output } from '../../../virtnode/launcher/v1/BlockStats.js';
import type { InterfaceTap as _virtnode_launcher_v1_InterfaceTap, InterfaceTap__Output as _virtnode_launcher_v1_InterfaceTap__Output } from '../../../virtnode/launcher/v1/InterfaceTap.js';
import type { Long } from '@grpc/proto-loader';

export interface QemuStats {
  /**
   * The guest RAM QEMU was given (the domain's memory).
   */
  'domainMemoryBytes'?: (number | string | Long);
  /**
   * query-balloon's actual; 0 without a balloon device.
   */
  'balloonActualBytes'?: (number | string | Long);
  'hasBalloon'?: (boolean);
  'guestMemory'?: (_virtnode_launcher_v1_GuestMemoryStats | null);
  'vcpus'?: (_virtnode_launcher_v1_VcpuThread)[];
  'blocks'?: (_virtnode_launcher_v1_BlockStats)[];
  /**
   * Each interface's tap in the pod's network namespace.
   */
  'interfaces'?: (_virtnode_launcher_v1_InterfaceTap)[];
}

export interface QemuStats__Output {
  /**
   * The guest RAM QEMU was given (the domain's memory).
   */
  'domainMemoryBytes': (number);
  /**
   * query-balloon's actual; 0 without a balloon device.
   */
  'balloonActualBytes': (number);
  'hasBalloon': (boolean);
  'guestMemory': (_virtnode_launcher_v1_GuestMemoryStats__Output | null);
  'vcpus': (_virtnode_launcher_v1_VcpuThread__Output)[];
  'blocks': (_virtnode_launcher_v1_BlockStats__Output)[];
  /**
   * Each interface's tap in the pod's network namespace.
   */
  'interfaces': (_virtnode_launcher_v1_InterfaceTap__Output)[];
}
