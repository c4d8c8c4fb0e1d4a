// Original file: launcher.proto


/**
 * A question for the guest agent, answered now (virtctl guestosinfo, fslist, userlist).
 */
export interface GuestAgentQuery {
  /**
   * "guestosinfo": VirtualMachineInstanceGuestAgentInfo; "fslist":
   * VirtualMachineInstanceFileSystemList; "userlist": VirtualMachineInstanceGuestOSUserList.
   */
  'what'?: (string);
}

/**
 * A question for the guest agent, answered now (virtctl guestosinfo, fslist, userlist).
 */
export interface GuestAgentQuery__Output {
  /**
   * "guestosinfo": VirtualMachineInstanceGuestAgentInfo; "fslist":
   * VirtualMachineInstanceFileSystemList; "userlist": VirtualMachineInstanceGuestOSUserList.
   */
  'what': (string);
}
