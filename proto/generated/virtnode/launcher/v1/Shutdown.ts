// Original file: launcher.proto


export interface Shutdown {
  /**
   * ACPI power-down first; QEMU is killed when the guest has not powered off
   * within this many seconds.
   */
  'gracePeriodSeconds'?: (number);
}

export interface Shutdown__Output {
  /**
   * ACPI power-down first; QEMU is killed when the guest has not powered off
   * within this many seconds.
   */
  'gracePeriodSeconds': (number);
}
