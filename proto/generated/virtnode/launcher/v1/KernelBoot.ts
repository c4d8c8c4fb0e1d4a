// Original file: launcher.proto


export interface KernelBoot {
  'kernel'?: (string);
  'initrd'?: (string);
}

export interface KernelBoot__Output {
  'kernel': (string);
  'initrd': (string);
}
