// Typed wrappers for the syscalls Node lacks. Everything here loads koffi lazily, on
// first use; every failure is a NativeError (code VN_NATIVE) naming the call and errno.
export { NativeError, errnoName } from './errors.js';
export { signalNumber, signalName, type Signal } from './signals.js';
export { setParentDeathSignal, getParentDeathSignal, setChildSubreaper, isChildSubreaper, setProcessName, getProcessName } from './prctl.js';
export { pidfdOpen, pidfdSendSignal, pidfdIsAlive, closeFd } from './pidfd.js';
export { sendFds, recvFds, socketPair, socketFd, cmsgLen, cmsgSpace, MAX_FDS_PER_MESSAGE, type ReceivedMessage } from './fdpass.js';
export { getPeerCredentials, type PeerCredentials } from './peercred.js';
export {
  setns, unshare, withNetns,
  CLONE_NEWTIME, CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
} from './namespaces.js';
export { openTap, setTapPersist, type TapOptions } from './tun.js';
export { setCpuAffinity, getCpuAffinity } from './affinity.js';
export { pdeathsigArgv, hasSetpriv, SETPRIV } from './pdeathsig.js';
export { openUdp4Socket, bindToDevice, setSocketOption, SOL_SOCKET, SO_REUSEADDR, SO_BROADCAST, SO_BINDTODEVICE, type Udp4SocketOptions } from './sockopt.js';
export { redirectStdoutStderr } from './stdio.js';
export {
  openat2, reopenFd, AT_FDCWD, O_PATH, O_DIRECT, O_CLOEXEC,
  RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, RESOLVE_NO_XDEV, RESOLVE_IN_ROOT, type OpenHow,
} from './openat2.js';
export {
  openRoot, statBeneath, regularFileBeneath, openRegularBeneath, createSparseBeneath, takesDirectIo, fileKind,
  BeneathError, type BeneathReason, type FileIdentity, type OpenedFile,
} from './beneath.js';
export {
  capabilityMask, capabilityNames, threadCapabilities, limitThreadCapabilities, limitPoolCapabilities, permittedByThread,
  lastCapability, poolSize, type CapabilityName, type ThreadCapabilities, type PoolLimitResult,
} from './capabilities.js';
