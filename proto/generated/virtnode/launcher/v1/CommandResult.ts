// Original file: launcher.proto

import type { QemuStats as _virtnode_launcher_v1_QemuStats, QemuStats__Output as _virtnode_launcher_v1_QemuStats__Output } from '../../../virtnode/launcher/v1/QemuStats.js';
import type { Long } from '@grpc/proto-loader';

export interface CommandResult {
  'commandId'?: (number | string | Long);
  'ok'?: (boolean);
  'errorCode'?: (string);
  'errorMessage'?: (string);
  /**
   * The answer of a stats command.
   */
  'stats'?: (_virtnode_launcher_v1_QemuStats | null);
}

export interface CommandResult__Output {
  'commandId': (number);
  'ok': (boolean);
  'errorCode': (string);
  'errorMessage': (string);
  /**
   * The answer of a stats command.
   */
  'stats': (_virtnode_launcher_v1_QemuStats__Output | null);
}
