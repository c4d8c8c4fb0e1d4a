// A pod network request, checked and turned into a plan. The VMI rules (ports,
// binding count, names, one pod network) are the admission webhook's own
// (proto/vmi/validate-network.ts), run here again because a request may not come
// from an admitted VMI; what only the node knows (its pod CIDR, which bindings it
// implements) is added on top, into the same list of field errors.

import { InvalidSpecError, type FieldError } from '../../proto/errors.js';
import { MAC_ADDRESS, normalizeMac } from '../../proto/vmi/devices.js';
import { validateNetworking } from '../../proto/vmi/validate-network.js';
import { DEFAULT_VALIDATE_OPTIONS, type Ctx } from '../../proto/vmi/validate-context.js';
import type { Interface, Port, VirtualMachineInstance } from '../../proto/vmi/types.js';
import { DEFAULT_VM_NETWORK_CIDR, vmNetwork, type ResolvedNodeNetwork } from './config.js';
import type { PodBinding, PodNetworkRequest } from './types.js';

const IFACES = 'spec.domain.devices.interfaces';
const NETWORKS = 'spec.networks';
const OTHER_BINDINGS = ['sriov', 'passtBinding', 'binding', 'slirp', 'macvtap', 'passt'];

export interface PlannedInterface {
  name: string;
  binding: PodBinding;
  ports: Port[];
  macAddress: string | undefined;
  multiQueue: boolean;
  /** Masquerade only: the guest side (vmNetworkCIDR). */
  vm?: { cidrText: string; prefixLength: number; gateway: string; guest: string };
}

/** Throws InvalidSpecError listing every problem, with KubeVirt field paths. */
export function planPodNetwork(req: PodNetworkRequest, node: ResolvedNodeNetwork): PlannedInterface[] {
  const errors: FieldError[] = [];
  if (typeof req.uid !== 'string' || req.uid === '') errors.push({ path: 'metadata.uid', message: 'Required value' });
  if (typeof req.namespace !== 'string' || req.namespace === '') errors.push({ path: 'metadata.namespace', message: 'Required value' });
  if (typeof req.name !== 'string' || req.name === '') errors.push({ path: 'metadata.name', message: 'Required value' });
  if (typeof req.runDir !== 'string' || !req.runDir.startsWith('/')) errors.push({ path: 'runDir', message: 'must be an absolute path' });

  const interfaces = req.interfaces ?? [];
  const networks = req.networks ?? [];
  const ctx: Ctx = { opts: { ...DEFAULT_VALIDATE_OPTIONS, podNetworking: true }, errors, warnings: [] };
  validateNetworking({ domain: { devices: { interfaces } }, networks } as Record<string, unknown>, 'spec', ctx);

  networks.forEach((n, i) => {
    const source = Object.keys(n).find((k) => k !== 'name' && k !== 'pod');
    if (source && !n.pod) errors.push({ path: `${NETWORKS}[${i}]`, message: `${source} networks are not supported by virtnode (only pod)` });
  });

  const planned: PlannedInterface[] = [];
  interfaces.forEach((iface: Interface, i) => {
    const path = `${IFACES}[${i}]`;
    const other = OTHER_BINDINGS.find((b) => (iface as unknown as Record<string, unknown>)[b] !== undefined);
    const binding: PodBinding | undefined = iface.masquerade ? 'masquerade' : iface.bridge ? 'bridge' : undefined;
    if (other) {
      errors.push({ path: `${path}.${other}`, message: `binding ${JSON.stringify(other)} is not supported by virtnode (masquerade and bridge are)` });
      return;
    }
    if (!binding) return; // validateNetworking has said "exactly one binding"
    const netIndex = networks.findIndex((n) => n.name === iface.name);
    const network = networks[netIndex];
    if (!network?.pod) return;
    const plan: PlannedInterface = {
      name: iface.name,
      binding,
      ports: iface.ports ?? [],
      // A malformed MAC is in `errors` already (validateNetworking, above).
      macAddress: iface.macAddress && MAC_ADDRESS.test(iface.macAddress) ? normalizeMac(iface.macAddress) : undefined,
      // KubeVirt gives queues to virtio NICs only.
      multiQueue: req.multiQueue === true && (iface.model ?? 'virtio') === 'virtio',
    };
    if (binding === 'masquerade') {
      try {
        const vm = vmNetwork(network.pod.vmNetworkCIDR, node, `${NETWORKS}[${netIndex}].pod.vmNetworkCIDR`);
        plan.vm = { cidrText: network.pod.vmNetworkCIDR || DEFAULT_VM_NETWORK_CIDR, prefixLength: vm.cidr.prefixLength, gateway: vm.gateway, guest: vm.guest };
      } catch (e) {
        if (e instanceof InvalidSpecError) errors.push(...e.fields);
        else throw e;
      }
    }
    // Ports on a bridge interface are documentation only: the guest owns the pod IP, every port reaches it.
    planned.push(plan);
  });

  if (errors.length > 0) throw new InvalidSpecError(dedupe(errors));
  return planned;
}

/** The request for a VMI, as the handler would make it (after applyDefaults). */
export function podNetworkRequest(vmi: VirtualMachineInstance, runDir: string): PodNetworkRequest {
  const devices = vmi.spec.domain.devices;
  return {
    uid: vmi.metadata.uid ?? '',
    namespace: vmi.metadata.namespace ?? 'default',
    name: vmi.metadata.name,
    interfaces: devices.interfaces ?? [],
    networks: vmi.spec.networks ?? [],
    multiQueue: devices.networkInterfaceMultiqueue === true,
    runDir,
    hostname: vmi.spec.hostname ?? vmi.metadata.name,
  };
}

function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const k = `${e.path}\0${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
