// Original file: handler.proto

import type { Long } from '@grpc/proto-loader';

/**
 * The QEMU process, every thread (vCPUs and emulator).
 */
export interface DomainCpuStats {
  'timeNs'?: (number | string | Long);
  'userNs'?: (number | string | Long);
  'systemNs'?: (number | string | Long);
}

/**
 * The QEMU process, every thread (vCPUs and emulator).
 */
export interface DomainCpuStats__Output {
  'timeNs': (number);
  'userNs': (number);
  'systemNs': (number);
}
