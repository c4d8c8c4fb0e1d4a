// Original file: handler.proto

import type { Long } from '@grpc/proto-loader';

export interface DomainVcpuStats {
  'id'?: (number);
  'threadId'?: (number);
  /**
   * Time the vCPU thread ran, and time it waited runnable for a host CPU.
   */
  'timeNs'?: (number | string | Long);
  'delayNs'?: (number | string | Long);
}

export interface DomainVcpuStats__Output {
  'id': (number);
  'threadId': (number);
  /**
   * Time the vCPU thread ran, and time it waited runnable for a host CPU.
   */
  'timeNs': (number);
  'delayNs': (number);
}
