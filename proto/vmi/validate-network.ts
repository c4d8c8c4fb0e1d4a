// Interface and network rules (KubeVirt's pkg/network/admitter). They run where the
// node provides a pod network (the handler always passes podNetworking: true); where
// it does not, shape.ts refuses every interface and network entry by path.

import { isIPv4, isIPv6 } from 'node:net';
import { INTERFACE_NAME, LONG_MAC_ADDRESS, MAC_ADDRESS, NIC_MODELS, normalizeMac, RESERVED_INTERFACE_NAMES } from './devices.js';
import { isValidPortName } from './k8s-names.js';
import { isObject } from './shape.js';
import { fail, int, isSet, list, obj, quote, REQUIRED, str, type Ctx, type Obj } from './validate-context.js';

const BINDINGS = ['masquerade', 'bridge', 'sriov', 'passtBinding', 'binding'];
const NETWORK_SOURCES = ['pod', 'multus', 'resourceClaim'];
// Masquerade gives this MAC to the in-pod bridge.
const RESERVED_MAC = '02:00:00:00:00:00';
const ZERO_MAC = '00:00:00:00:00:00';

export function validateNetworking(spec: Obj, p: string, ctx: Ctx): void {
  if (!ctx.opts.podNetworking) return;
  const ifacesPath = `${p}.domain.devices.interfaces`;
  const netsPath = `${p}.networks`;
  const interfaces = list(obj(obj(spec, 'domain'), 'devices'), 'interfaces');
  const networks = list(spec, 'networks');

  const networksByName = new Map<string, Obj>();
  let podNetworks = 0;
  networks.forEach((n, i) => {
    if (!isObject(n)) return;
    const np = `${netsPath}[${i}]`;
    const name = str(n, 'name');
    if (!name) {
      if (!isSet(n, 'name') || name === '') fail(ctx, `${np}.name`, REQUIRED);
    } else if (networksByName.has(name)) {
      fail(ctx, `${np}.name`, `Network with name ${JSON.stringify(name)} already exists, every network must have a unique name`);
    } else {
      networksByName.set(name, n);
    }
    const sources = NETWORK_SOURCES.filter((s) => isSet(n, s));
    if (sources.length === 0) fail(ctx, np, 'should have a network type');
    else if (sources.length > 1) fail(ctx, np, 'should have only one network type');
    if (isSet(n, 'pod') && ++podNetworks > 1) fail(ctx, np, 'more than one interface is connected to a pod network');
    validatePodCidrs(obj(n, 'pod'), `${np}.pod`, ctx);
  });

  const interfaceNames = new Set<string>();
  interfaces.forEach((iface, i) => {
    if (!isObject(iface)) return;
    const ip = `${ifacesPath}[${i}]`;
    const name = str(iface, 'name');
    if (!name) {
      if (!isSet(iface, 'name') || name === '') fail(ctx, `${ip}.name`, REQUIRED);
    } else {
      if (!INTERFACE_NAME.test(name)) {
        fail(ctx, `${ip}.name`, 'Network interface name can only contain alphabetical characters, numbers, dashes (-) or underscores (_)');
      } else if (RESERVED_INTERFACE_NAMES.has(name)) {
        fail(ctx, `${ip}.name`, `not supported: ${JSON.stringify(name)} is reserved (virtnode keys each interface's tap by its name, and this name keys a JavaScript object's prototype)`);
      }
      if (interfaceNames.has(name)) fail(ctx, `${ip}.name`, 'Only one interface can be connected to one specific network');
      interfaceNames.add(name);
      if (!networksByName.has(name)) {
        fail(ctx, `${ip}.name`, `${quote(name)} not found in ${netsPath}`);
      }
    }
    validateInterface(iface, ip, name ? networksByName.get(name) : undefined, ctx);
  });

  networks.forEach((n, i) => {
    const name = isObject(n) ? str(n, 'name') : undefined;
    if (name && !interfaceNames.has(name)) fail(ctx, `${netsPath}[${i}].name`, `${quote(name)} not found in ${ifacesPath}`);
  });
}

function validateInterface(iface: Obj, ip: string, network: Obj | undefined, ctx: Ctx): void {
  const bindings = BINDINGS.filter((b) => isSet(iface, b));
  if (bindings.length !== 1) fail(ctx, ip, `logical ${str(iface, 'name') ?? ''} interface must have exactly one binding method or binding plugin`);
  const onPod = network !== undefined && isSet(network, 'pod');
  if (isSet(iface, 'masquerade') && network !== undefined && !onPod) {
    fail(ctx, `${ip}.name`, 'Masquerade interface only implemented with pod network');
  }

  const model = str(iface, 'model');
  if (model !== undefined && model !== '') {
    const known = Object.hasOwn(NIC_MODELS, model) ? NIC_MODELS[model] : undefined;
    if (!known) fail(ctx, `${ip}.model`, `interface ${ip}.name uses model ${model} that is not supported.`);
    else if ('unsupported' in known) fail(ctx, `${ip}.model`, known.unsupported);
  }

  const mac = str(iface, 'macAddress');
  if (mac !== undefined && mac !== '') {
    if (LONG_MAC_ADDRESS.test(mac)) fail(ctx, `${ip}.macAddress`, `too long MAC address (${mac})`);
    else if (!MAC_ADDRESS.test(mac)) fail(ctx, `${ip}.macAddress`, `malformed MAC address (${mac})`);
    else if (isSet(iface, 'masquerade') && normalizeMac(mac) === RESERVED_MAC) {
      fail(ctx, `${ip}.macAddress`, 'The requested MAC address is reserved for the in-pod bridge. Please choose another one.');
    } else if (parseInt(normalizeMac(mac).slice(0, 2), 16) & 1) {
      // libvirt's words (KubeVirt fails there, at launch); QEMU would take it and the
      // guest's driver refuse it, leaving the NIC on a MAC the DHCP server does not answer.
      fail(ctx, `${ip}.macAddress`, `expected unicast mac address, found multicast '${mac}'`);
    } else if (normalizeMac(mac) === ZERO_MAC) {
      fail(ctx, `${ip}.macAddress`, `${mac} is not a NIC address: QEMU would give the NIC one of its own`);
    }
  }

  // Interface bootOrder (PXE) is not in the supported table yet; when it is, it shares
  // the disks' boot orders through claimBootOrder(), as KubeVirt's validateBootOrder does.
  validatePorts(iface, ip, ctx);
}

function validatePorts(iface: Obj, ip: string, ctx: Ctx): void {
  const portNames = new Set<string>();
  list(iface, 'ports').forEach((port, j) => {
    if (!isObject(port)) return;
    const pp = `${ip}.ports[${j}]`;
    const name = str(port, 'name');
    if (name) {
      if (portNames.has(name)) fail(ctx, `${pp}.name`, `Duplicate name of the port: ${name}`);
      else if (isValidPortName(name).length > 0) fail(ctx, `${pp}.name`, `Invalid name of the port: ${name}`);
      portNames.add(name);
    }
    const n = int(port, 'port');
    if (!isSet(port, 'port') || n === 0) fail(ctx, `${pp}.port`, 'Port field is mandatory.');
    else if (n !== undefined && (n < 1 || n > 65535)) fail(ctx, `${pp}.port`, 'Port field must be in range 0 < x < 65536.');
    const protocol = str(port, 'protocol');
    if (protocol !== undefined && protocol !== '' && protocol !== 'TCP' && protocol !== 'UDP') {
      fail(ctx, `${pp}.protocol`, 'Unknown protocol, only TCP or UDP allowed');
    }
  });
}

function validatePodCidrs(pod: Obj | undefined, path: string, ctx: Ctx): void {
  const v4 = str(pod, 'vmNetworkCIDR');
  if (v4 && !isCidr(v4, isIPv4, 32)) fail(ctx, `${path}.vmNetworkCIDR`, `${JSON.stringify(v4)} is not an IPv4 CIDR`);
  const v6 = str(pod, 'vmIPv6NetworkCIDR');
  if (v6 && !isCidr(v6, isIPv6, 128)) fail(ctx, `${path}.vmIPv6NetworkCIDR`, `${JSON.stringify(v6)} is not an IPv6 CIDR`);
}

function isCidr(s: string, isIp: (a: string) => boolean, maxPrefix: number): boolean {
  const [addr, prefix, extra] = s.split('/');
  return extra === undefined && addr !== undefined && isIp(addr) && prefix !== undefined && /^\d{1,3}$/.test(prefix) && Number(prefix) <= maxPrefix;
}
