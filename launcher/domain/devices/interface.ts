// Network interfaces: a tap the handler made, opened by the launcher and passed to
// QEMU as an fd, under a NIC device. The handler's networking fills
// LaunchContext.interfaces; an interface without a prepared tap is refused, never
// dropped. Names, models and MACs are admission's (proto/vmi/devices.ts): what
// passed Apply is built here, never re-judged by another rule.

import { InvalidSpecError, VirtnodeError } from '../../../proto/errors.js';
import { INTERFACE_NAME, MAC_ADDRESS, nicDevice, normalizeMac } from '../../../proto/vmi/devices.js';
import type { VirtualMachineInstance } from '../../../proto/vmi/types.js';
import type { LaunchContext } from '../../../proto/launch.js';
import { checkId, jsonOpt } from '../qemu-opts.js';
import type { DomainInterface } from '../types.js';

/**
 * Every VMI interface as a DomainInterface. `tapFds`: interface name → the fd numbers
 * QEMU inherits its opened tap queues at (the launcher opens them, see manager.ts).
 */
export function interfacesFromVMI(vmi: VirtualMachineInstance, ctx: LaunchContext, tapFds: Readonly<Record<string, number[]>> = {}): DomainInterface[] {
  return (vmi.spec.domain.devices.interfaces ?? []).map((iface, i) => {
    const path = `spec.domain.devices.interfaces[${i}]`;
    if (!INTERFACE_NAME.test(iface.name)) throw new InvalidSpecError([{ path: `${path}.name`, message: `${JSON.stringify(iface.name)} is not an interface name` }]);
    const model = nicDevice(iface.model);
    if (!model) throw new InvalidSpecError([{ path: `${path}.model`, message: `interface ${path}.name uses model ${iface.model} that is not supported.` }]);
    const prepared = ctx.interfaces?.[iface.name];
    if (!prepared) throw new VirtnodeError('VN_UNSUPPORTED', `${path}: no network was prepared for interface ${JSON.stringify(iface.name)}`);
    const fds = tapFds[iface.name];
    if (!fds?.length) throw new VirtnodeError('VN_INTERNAL', `${path}: the tap ${prepared.tapName} of interface ${JSON.stringify(iface.name)} was not opened`);
    // The handler's MAC is the spec's, normalised (or, for the bridge binding, the pod's).
    const mac = prepared.mac ?? iface.macAddress;
    if (mac !== undefined && !MAC_ADDRESS.test(mac)) throw new InvalidSpecError([{ path: `${path}.macAddress`, message: `malformed MAC address (${mac})` }]);
    return {
      name: iface.name,
      deviceId: `ua-${iface.name}`,
      netdevId: `netdev${i}`,
      model,
      ...(mac !== undefined ? { mac: normalizeMac(mac) } : {}),
      tap: { fds },
      vhost: prepared.vhost ?? false,
      ...(iface.bootOrder !== undefined ? { bootIndex: iface.bootOrder } : {}),
    };
  });
}

/** The -netdev object (also netdev_add's arguments): one fd, several queues' fds, or a getfd name. */
export function netdevObject(n: DomainInterface): Record<string, unknown> {
  const base = { type: 'tap', id: checkId('netdev id', n.netdevId), vhost: n.vhost };
  if ('fdName' in n.tap) return { ...base, fd: n.tap.fdName };
  for (const fd of n.tap.fds) if (!Number.isInteger(fd) || fd < 3) throw new VirtnodeError('VN_INTERNAL', `interface ${n.name}: tap fd ${fd}`);
  return n.tap.fds.length === 1 ? { ...base, fd: String(n.tap.fds[0]) } : { ...base, fds: n.tap.fds.join(':') };
}

/** The NIC device object (also device_add's arguments). */
export function nicDeviceObject(n: DomainInterface, bus?: string): Record<string, unknown> {
  const queues = 'fds' in n.tap ? n.tap.fds.length : 1;
  return {
    driver: n.model,
    id: checkId('device id', n.deviceId),
    netdev: n.netdevId,
    ...(n.mac !== undefined ? { mac: n.mac } : {}),
    // virtio-net needs a vector per queue pair each way, plus config and control.
    ...(queues > 1 ? { mq: true, vectors: 2 * queues + 2 } : {}),
    ...(n.bootIndex !== undefined ? { bootindex: n.bootIndex } : {}),
    ...(bus !== undefined ? { bus } : {}),
  };
}

/** -netdev (JSON: QEMU 7.2 takes it) and the NIC -device. */
export function interfaceArgv(n: DomainInterface): string[] {
  return ['-netdev', jsonOpt(netdevObject(n)), '-device', jsonOpt(nicDeviceObject(n))];
}
