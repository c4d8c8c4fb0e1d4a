// Original file: handler.proto


export interface AddVolumeRequest {
  'namespace'?: (string);
  /**
   * A VM (its VMI gets the volume) or a bare VMI.
   */
  'name'?: (string);
  /**
   * kubevirt.io/v1 AddVolumeOptions as JSON: {name, disk, volumeSource}. The volume
   * source is virtnode's: {hostDisk: {...}} (KubeVirt's HotplugVolumeSource has only
   * persistentVolumeClaim and dataVolume, which standalone virtnode does not have).
   */
  'optionsJson'?: (string);
  /**
   * Also add the disk and volume to the VM's spec.template (virtctl --persist).
   */
  'persist'?: (boolean);
  'dryRun'?: (boolean);
}

export interface AddVolumeRequest__Output {
  'namespace': (string);
  /**
   * A VM (its VMI gets the volume) or a bare VMI.
   */
  'name': (string);
  /**
   * kubevirt.io/v1 AddVolumeOptions as JSON: {name, disk, volumeSource}. The volume
   * source is virtnode's: {hostDisk: {...}} (KubeVirt's HotplugVolumeSource has only
   * persistentVolumeClaim and dataVolume, which standalone virtnode does not have).
   */
  'optionsJson': (string);
  /**
   * Also add the disk and volume to the VM's spec.template (virtctl --persist).
   */
  'persist': (boolean);
  'dryRun': (boolean);
}
