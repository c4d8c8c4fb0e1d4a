// Original file: handler.proto


export interface RemoveVolumeRequest {
  'namespace'?: (string);
  'name'?: (string);
  /**
   * The disk and volume name (RemoveVolumeOptions.name).
   */
  'volumeName'?: (string);
  'persist'?: (boolean);
  'dryRun'?: (boolean);
}

export interface RemoveVolumeRequest__Output {
  'namespace': (string);
  'name': (string);
  /**
   * The disk and volume name (RemoveVolumeOptions.name).
   */
  'volumeName': (string);
  'persist': (boolean);
  'dryRun': (boolean);
}
