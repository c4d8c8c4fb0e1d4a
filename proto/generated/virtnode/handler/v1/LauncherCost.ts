// Original file: handler.proto

import type { Long } from '@grpc/proto-loader';

/**
 * What the VM costs beside QEMU: its launcher, measured (/proc smaps_rollup, stat).
 */
export interface LauncherCost {
  'pid'?: (number);
  'pssBytes'?: (number | string | Long);
  'rssBytes'?: (number | string | Long);
  'cpuNs'?: (number | string | Long);
}

/**
 * What the VM costs beside QEMU: its launcher, measured (/proc smaps_rollup, stat).
 */
export interface LauncherCost__Output {
  'pid': (number);
  'pssBytes': (number);
  'rssBytes': (number);
  'cpuNs': (number);
}
