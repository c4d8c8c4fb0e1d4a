// Original file: handler.proto

import type { DomainCpuStats as _virtnode_handler_v1_DomainCpuStats, DomainCpuStats__Output as _virtnode_handler_v1_DomainCpuStats__Output } from '../../../virtnode/handler/v1/DomainCpuStats.js';
import type { DomainVcpuStats as _virtnode_handler_v1_DomainVcpuStats, DomainVcpuStats__Output as _virtnode_handler_v1_DomainVcpuStats__Output } from '../../../virtnode/handler/v1/DomainVcpuStats.js';
import type { DomainMemoryStats as _virtnode_handler_v1_DomainMemoryStats, DomainMemoryStats__Output as _virtnode_handler_v1_DomainMemoryStats__Output } from '../../../virtnode/handler/v1/DomainMemoryStats.js';
import type { DomainBlockStats as _virtnode_handler_v1_DomainBlockStats, DomainBlockStats__Output as _virtnode_handler_v1_DomainBlockStats__Output } from '../../../virtnode/handler/v1/DomainBlockStats.js';
import type { DomainInterfaceStats as _virtnode_handler_v1_DomainInterfaceStats, DomainInterfaceStats__Output as _virtnode_handler_v1_DomainInterfaceStats__Output } from '../../../virtnode/handler/v1/DomainInterfaceStats.js';
import type { LauncherCost as _virtnode_handler_v1_LauncherCost, LauncherCost__Output as _virtnode_handler_v1_LauncherCost__Output } from '../../../virtnode/handler/v1/LauncherCost.js';
import type { Long } from '@grpc/proto-loader';

/**
 * Times in nanoseconds, sizes in bytes. Integers only: exact, and the CLI decodes
 * them without a float codec.
 */
export interface DomainStats {
  'namespace'?: (string);
  'name'?: (string);
  'timestampMs'?: (number | string | Long);
  'qemuPid'?: (number);
  'cpu'?: (_virtnode_handler_v1_DomainCpuStats | null);
  'vcpus'?: (_virtnode_handler_v1_DomainVcpuStats)[];
  'memory'?: (_virtnode_handler_v1_DomainMemoryStats | null);
  'blocks'?: (_virtnode_handler_v1_DomainBlockStats)[];
  'interfaces'?: (_virtnode_handler_v1_DomainInterfaceStats)[];
  'launcher'?: (_virtnode_handler_v1_LauncherCost | null);
}

/**
 * Times in nanoseconds, sizes in bytes. Integers only: exact, and the CLI decodes
 * them without a float codec.
 */
export interface DomainStats__Output {
  'namespace': (string);
  'name': (string);
  'timestampMs': (number);
  'qemuPid': (number);
  'cpu': (_virtnode_handler_v1_DomainCpuStats__Output | null);
  'vcpus': (_virtnode_handler_v1_DomainVcpuStats__Output)[];
  'memory': (_virtnode_handler_v1_DomainMemoryStats__Output | null);
  'blocks': (_virtnode_handler_v1_DomainBlockStats__Output)[];
  'interfaces': (_virtnode_handler_v1_DomainInterfaceStats__Output)[];
  'launcher': (_virtnode_handler_v1_LauncherCost__Output | null);
}
