// Network interfaces: a tap the handler opened, passed to QEMU as an fd, under a NIC
// device. The handler's networking fills LaunchContext.interfaces; an interface
// without a prepared tap is refused, never dropped.

import { InvalidSpecError, VirtnodeError } from '../../../proto/errors.js';
import type { VirtualMachineInstance } from '../../../proto/vmi/types.js';
import type { LaunchContext } from '../context.js';
import { checkId, jsonOpt } from '../qemu-opts.js';
import type { DomainInterface } from '../types.js';

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;
/** KubeVirt's interface models and the QEMU devices behind them. */
export const NIC_MODELS: Record<string, string> = { virtio: 'virtio-net-pci', e1000: 'e1000', e1000e: 'e1000e', rtl8139: 'rtl8139', pcnet: 'pcnet' };

export function interfacesFromVMI(vmi: VirtualMachineInstance, ctx: LaunchContext): DomainInterface[] {
  return (vmi.spec.domain.devices.interfaces ?? []).map((iface, i) => {
    const path = `spec.domain.devices.interfaces[${i}]`;
    if (!NAME.test(iface.name)) throw new InvalidSpecError([{ path: `${path}.name`, message: `${JSON.stringify(iface.name)} is not a DNS label` }]);
    const model = NIC_MODELS[iface.model ?? 'virtio'];
    if (!model) throw new InvalidSpecError([{ path: `${path}.model`, message: `${JSON.stringify(iface.model)} is not one of ${Object.keys(NIC_MODELS).join(', ')}` }]);
    const prepared = ctx.interfaces?.[iface.name];
    if (!prepared) throw new VirtnodeError('VN_UNSUPPORTED', `${path}: no network was prepared for interface ${JSON.stringify(iface.name)}`);
    if (!prepared.tapFds?.length) throw new VirtnodeError('VN_INTERNAL', `${path}: the tap ${prepared.tapName} of interface ${JSON.stringify(iface.name)} was not opened`);
    const mac = iface.macAddress ?? prepared.mac;
    if (mac !== undefined && !MAC.test(mac)) throw new InvalidSpecError([{ path: `${path}.macAddress`, message: `${JSON.stringify(mac)} is not a MAC address` }]);
    return {
      name: iface.name,
      deviceId: `ua-${iface.name}`,
      netdevId: `netdev${i}`,
      model,
      ...(mac !== undefined ? { mac: mac.toLowerCase() } : {}),
      tap: { fds: prepared.tapFds },
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
