// Original file: handler.proto

import type { Long } from '@grpc/proto-loader';

export interface DomainBlockStats {
  /**
   * the VMI disk name
   */
  'drive'?: (string);
  /**
   * vda, sda, ...
   */
  'target'?: (string);
  'rdBytes'?: (number | string | Long);
  'wrBytes'?: (number | string | Long);
  'rdOperations'?: (number | string | Long);
  'wrOperations'?: (number | string | Long);
  'flushOperations'?: (number | string | Long);
  'rdTotalTimeNs'?: (number | string | Long);
  'wrTotalTimeNs'?: (number | string | Long);
  'flushTotalTimeNs'?: (number | string | Long);
}

export interface DomainBlockStats__Output {
  /**
   * the VMI disk name
   */
  'drive': (string);
  /**
   * vda, sda, ...
   */
  'target': (string);
  'rdBytes': (number);
  'wrBytes': (number);
  'rdOperations': (number);
  'wrOperations': (number);
  'flushOperations': (number);
  'rdTotalTimeNs': (number);
  'wrTotalTimeNs': (number);
  'flushTotalTimeNs': (number);
}
