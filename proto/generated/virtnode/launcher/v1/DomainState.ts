// Original file: launcher.proto

export const DomainState = {
  /**
   * nothing defined yet
   */
  NO_STATE: 'NO_STATE',
  /**
   * QEMU spawned, not yet running guest code
   */
  STARTING: 'STARTING',
  RUNNING: 'RUNNING',
  PAUSED: 'PAUSED',
  /**
   * ACPI power-down sent, waiting for the guest
   */
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  /**
   * QEMU has exited
   */
  SHUTOFF: 'SHUTOFF',
  /**
   * guest panic or QEMU died abnormally
   */
  CRASHED: 'CRASHED',
} as const;

export type DomainState =
  /**
   * nothing defined yet
   */
  | 'NO_STATE'
  | 0
  /**
   * QEMU spawned, not yet running guest code
   */
  | 'STARTING'
  | 1
  | 'RUNNING'
  | 2
  | 'PAUSED'
  | 3
  /**
   * ACPI power-down sent, waiting for the guest
   */
  | 'SHUTTING_DOWN'
  | 4
  /**
   * QEMU has exited
   */
  | 'SHUTOFF'
  | 5
  /**
   * guest panic or QEMU died abnormally
   */
  | 'CRASHED'
  | 6

export type DomainState__Output = typeof DomainState[keyof typeof DomainState]
