// The VM NIC's tap, made the way virt-handler makes it for virt-launcher: inside the
// pod's network namespace, persistent, with nobody holding it. The launcher then
// opens it by name from inside the same namespace (TUNSETIFF attaches to the
// existing device) and hands the fd(s) to QEMU; the tap outlives launcher restarts
// and goes when the pod network is destroyed.

import { closeFd, openTap, setTapPersist, withNetns } from '../../native/index.js';

export function createPersistentTap(netnsPath: string, name: string, multiQueue: boolean): void {
  // withNetns is synchronous: nothing else runs on this thread while it is in the pod.
  const fd = withNetns(netnsPath, () => openTap(name, { multiQueue, vnetHdr: true }));
  try {
    setTapPersist(fd, true);
  } finally {
    closeFd(fd);
  }
}
