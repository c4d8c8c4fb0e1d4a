// Original file: launcher.proto


export interface DiskImage {
  'path'?: (string);
  /**
   * "raw" or "qcow2".
   */
  'format'?: (string);
}

export interface DiskImage__Output {
  'path': (string);
  /**
   * "raw" or "qcow2".
   */
  'format': (string);
}
