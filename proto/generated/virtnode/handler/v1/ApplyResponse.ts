// Original file: handler.proto

import type { Object as _virtnode_handler_v1_Object, Object__Output as _virtnode_handler_v1_Object__Output } from '../../../virtnode/handler/v1/Object.js';

export interface ApplyResponse {
  'objects'?: (_virtnode_handler_v1_Object)[];
  'warnings'?: (string)[];
  /**
   * One line per object, kubectl's words: "virtualmachine.kubevirt.io/vm-cirros created".
   */
  'results'?: (string)[];
}

export interface ApplyResponse__Output {
  'objects': (_virtnode_handler_v1_Object__Output)[];
  'warnings': (string)[];
  /**
   * One line per object, kubectl's words: "virtualmachine.kubevirt.io/vm-cirros created".
   */
  'results': (string)[];
}
