// Original file: launcher.proto

import type { Long } from '@grpc/proto-loader';

/**
 * One disk's block layer counters (query-blockstats), by VMI disk name.
 */
export interface BlockStats {
  'drive'?: (string);
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

/**
 * One disk's block layer counters (query-blockstats), by VMI disk name.
 */
export interface BlockStats__Output {
  'drive': (string);
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
