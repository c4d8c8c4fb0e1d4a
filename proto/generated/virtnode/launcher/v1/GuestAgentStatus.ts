// Original file: launcher.proto


/**
 * What the guest agent tells about the guest, as the launcher last heard it, for the
 * VMI's status (AgentConnected, AgentVersionNotSupported, guestOSInfo, interfaces,
 * fsFreezeStatus). Not numbered like events: each one replaces the one before, and
 * the launcher sends its current one again after every reconnect. Sent only when
 * something in it changed.
 */
export interface GuestAgentStatus {
  /**
   * The agent answers guest-sync-delimited.
   */
  'connected'?: (boolean);
  /**
   * guest-info's version.
   */
  'version'?: (string);
  /**
   * Commands virtnode needs that this agent lacks or has disabled; empty: none.
   */
  'missingCommands'?: (string)[];
  /**
   * kubevirt.io/v1 VirtualMachineInstanceGuestOSInfo (JSON); empty: not known yet.
   */
  'guestOsInfoJson'?: (string);
  /**
   * status.interfaces: the domain's, with what the agent reports merged in (JSON).
   */
  'interfacesJson'?: (string);
  /**
   * "frozen" while a freeze holds the guest's filesystems; empty otherwise.
   */
  'fsFreezeStatus'?: (string);
}

/**
 * What the guest agent tells about the guest, as the launcher last heard it, for the
 * VMI's status (AgentConnected, AgentVersionNotSupported, guestOSInfo, interfaces,
 * fsFreezeStatus). Not numbered like events: each one replaces the one before, and
 * the launcher sends its current one again after every reconnect. Sent only when
 * something in it changed.
 */
export interface GuestAgentStatus__Output {
  /**
   * The agent answers guest-sync-delimited.
   */
  'connected': (boolean);
  /**
   * guest-info's version.
   */
  'version': (string);
  /**
   * Commands virtnode needs that this agent lacks or has disabled; empty: none.
   */
  'missingCommands': (string)[];
  /**
   * kubevirt.io/v1 VirtualMachineInstanceGuestOSInfo (JSON); empty: not known yet.
   */
  'guestOsInfoJson': (string);
  /**
   * status.interfaces: the domain's, with what the agent reports merged in (JSON).
   */
  'interfacesJson': (string);
  /**
   * "frozen" while a freeze holds the guest's filesystems; empty otherwise.
   */
  'fsFreezeStatus': (string);
}
