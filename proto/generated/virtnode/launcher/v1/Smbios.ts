// Original file: launcher.proto


/**
 * SMBIOS type 1 fields; an empty string leaves QEMU's own value.
 */
export interface Smbios {
  'manufacturer'?: (string);
  'product'?: (string);
  'version'?: (string);
  'sku'?: (string);
  'family'?: (string);
}

/**
 * SMBIOS type 1 fields; an empty string leaves QEMU's own value.
 */
export interface Smbios__Output {
  'manufacturer': (string);
  'product': (string);
  'version': (string);
  'sku': (string);
  'family': (string);
}
