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
const MODELS: Record<string, string> = { virtio: 'virtio-net-pci', e1000: 'e1000', e1000e: 'e1000e', rtl8139: 'rtl8139', pcnet: 'pcnet' };

export function interfacesFromVMI(vmi: VirtualMachineInstance, ctx: LaunchContext): DomainInterface[] {
  return (vmi.spec.domain.devices.interfaces ?? []).map((iface, i) => {
    const path = `spec.domain.devices.interfaces[${i}]`;
    if (!NAME.test(iface.name)) throw new InvalidSpecError([{ path: `${path}.name`, message: `${JSON.stringify(iface.name)} is not a DNS label` }]);
    const model = MODELS[iface.model ?? 'virtio'];
    if (!model) throw new InvalidSpecError([{ path: `${path}.model`, message: `${JSON.stringify(iface.model)} is not one of ${Object.keys(MODELS).join(', ')}` }]);
    const prepared = ctx.interfaces?.[iface.name];
    if (!prepared) throw new VirtnodeError('VN_UNSUPPORTED', `${path}: no network was prepared for interface ${JSON.stringify(iface.name)} (virtnode networking is not wired up yet)`);
    const mac = iface.macAddress ?? prepared.mac;
    if (mac !== undefined && !MAC.test(mac)) throw new InvalidSpecError([{ path: `${path}.macAddress`, message: `${JSON.stringify(mac)} is not a MAC address` }]);
    return {
      name: iface.name,
      deviceId: `ua-${iface.name}`,
      netdevId: `netdev${i}`,
      model,
      ...(mac !== undefined ? { mac: mac.toLowerCase() } : {}),
      tap: { fd: prepared.tapFd },
      vhost: prepared.vhost ?? false,
      ...(iface.bootOrder !== undefined ? { bootIndex: iface.bootOrder } : {}),
    };
  });
}

/** -netdev (JSON: QEMU 7.2 takes it) and the NIC -device. */
export function interfaceArgv(n: DomainInterface): string[] {
  const fd = 'fd' in n.tap ? String(n.tap.fd) : n.tap.fdName;
  if ('fd' in n.tap && (!Number.isInteger(n.tap.fd) || n.tap.fd < 3)) throw new VirtnodeError('VN_INTERNAL', `interface ${n.name}: tap fd ${n.tap.fd}`);
  const netdev = { type: 'tap', id: checkId('netdev id', n.netdevId), fd, vhost: n.vhost };
  const device = {
    driver: n.model,
    id: checkId('device id', n.deviceId),
    netdev: n.netdevId,
    ...(n.mac !== undefined ? { mac: n.mac } : {}),
    ...(n.bootIndex !== undefined ? { bootindex: n.bootIndex } : {}),
  };
  return ['-netdev', jsonOpt(netdev), '-device', jsonOpt(device)];
}
