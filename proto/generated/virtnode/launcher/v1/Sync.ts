// Original file: launcher.proto

import type { LaunchContext as _virtnode_launcher_v1_LaunchContext, LaunchContext__Output as _virtnode_launcher_v1_LaunchContext__Output } from '../../../virtnode/launcher/v1/LaunchContext.js';

export interface Sync {
  /**
   * The VMI as stored by the handler (defaulted and validated kubevirt.io/v1 JSON).
   */
  'vmiJson'?: (string);
  'context'?: (_virtnode_launcher_v1_LaunchContext | null);
}

export interface Sync__Output {
  /**
   * The VMI as stored by the handler (defaulted and validated kubevirt.io/v1 JSON).
   */
  'vmiJson': (string);
  'context': (_virtnode_launcher_v1_LaunchContext__Output | null);
}
