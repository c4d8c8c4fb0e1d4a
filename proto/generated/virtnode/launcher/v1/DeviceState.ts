// Original file: launcher.proto


/**
 * Device state kept on the node (KubeVirt's backend storage): set only for the
 * devices the VMI has.
 */
export interface DeviceState {
  /**
   * firmware.bootloader.efi: the OVMF variable store (NVRAM), a copy of the
   * firmware's template made on first use.
   */
  'nvram'?: (string);
  /**
   * devices.tpm: swtpm's state directory.
   */
  'tpmDir'?: (string);
}

/**
 * Device state kept on the node (KubeVirt's backend storage): set only for the
 * devices the VMI has.
 */
export interface DeviceState__Output {
  /**
   * firmware.bootloader.efi: the OVMF variable store (NVRAM), a copy of the
   * firmware's template made on first use.
   */
  'nvram': (string);
  /**
   * devices.tpm: swtpm's state directory.
   */
  'tpmDir': (string);
}
