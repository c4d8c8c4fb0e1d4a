// Original file: launcher.proto


export interface DetachVolume {
  'name'?: (string);
  /**
   * How long to wait for DEVICE_DELETED; 0: the launcher's default.
   */
  'timeoutSeconds'?: (number);
}

export interface DetachVolume__Output {
  'name': (string);
  /**
   * How long to wait for DEVICE_DELETED; 0: the launcher's default.
   */
  'timeoutSeconds': (number);
}
