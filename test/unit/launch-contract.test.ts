// The handler ↔ launcher launch contract (proto/launch.ts): a LaunchContext survives
// the wire (Sync in a HandlerMessage, serialized as the handler sends it and read
// as the launcher reads it), a context the launcher cannot use is refused naming
// the field, and the facts both sides share are one constant each.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeLaunchContext, encodeLaunchContext, runDirLayout, RUN_DIR_FILES, type LaunchContext } from '../../proto/launch.js';
import { launcherPackage } from '../../proto/rpc.js';
import { VERSION } from '../../proto/version.js';
import { VirtnodeError } from '../../proto/errors.js';
import type { HandlerMessage__Output } from '../../proto/generated/virtnode/launcher/v1/HandlerMessage.js';

/** Through protobuf and back, as the launcher receives it. */
function overTheWire(ctx: LaunchContext): LaunchContext {
  const m = launcherPackage().Launcher.service.Session!;
  const bytes = m.responseSerialize({ command: { id: 1, sync: { vmiJson: '{}', context: encodeLaunchContext(ctx) } } });
  const back = m.responseDeserialize(bytes) as HandlerMessage__Output;
  return decodeLaunchContext(back.command!.sync!.context);
}

const FULL: LaunchContext = {
  runDir: '/run/virtnode/vmis/u',
  accelerator: 'tcg',
  volumes: {
    containerdisk: { path: '/var/lib/virtnode/vmis/u/disks/containerdisk.qcow2', format: 'qcow2', backing: { path: '/var/lib/virtnode/images/x/disk.img', format: 'raw' }, directIo: true },
    scratch: { path: '/var/lib/virtnode/vmis/u/disks/scratch.qcow2', format: 'qcow2' },
    // dev and ino beyond 2^53 cross exactly.
    data: { path: '/srv/disks/vm/data.img', format: 'raw', directIo: true, hostFile: { root: '/srv/disks', path: 'vm/data.img', dev: '18446744073709551615', ino: '9007199254740993' } },
  },
  kernelBoot: { kernel: '/k/vmlinuz' },
  interfaces: {
    default: {
      tapName: 'tap0',
      multiQueue: true,
      mac: '02:00:00:aa:bb:cc',
      statusIP: '10.244.0.5',
      dhcp: {
        bridge: 'k6t-eth0',
        serverIp: '10.0.2.1',
        lease: { mac: '02:00:00:aa:bb:cc', ip: '10.0.2.2', prefixLength: 24, gateway: '10.0.2.1', dns: ['10.96.0.10'], searchDomains: ['default.svc.cluster.local'], hostname: 'vm', mtu: 1500, routes: [{ dest: '10.1.0.0', prefixLen: 16, gateway: '10.0.2.1' }] },
      },
    },
  },
  netns: '/run/netns/vn-abc',
  smbios: { manufacturer: 'KubeVirt', product: 'None', family: 'KubeVirt' },
};

test('a LaunchContext crosses the wire unchanged, optional parts left out stay out', () => {
  assert.deepEqual(overTheWire(FULL), FULL);
  const bare: LaunchContext = { runDir: '/r', accelerator: 'kvm', volumes: {} };
  assert.deepEqual(overTheWire(bare), bare);
});

test('a context the launcher cannot use is refused, naming the field', () => {
  const refuses = (ctx: unknown, re: RegExp): void => {
    assert.throws(() => overTheWire(ctx as LaunchContext), (e: unknown) => e instanceof VirtnodeError && e.code === 'VN_PROTOCOL' && re.test(e.message));
  };
  refuses({ ...FULL, accelerator: 'hvf' }, /context\.accelerator: must be kvm or tcg, got "hvf"/);
  refuses({ ...FULL, runDir: 'relative' }, /context\.runDir: must be an absolute path/);
  refuses({ ...FULL, volumes: { d: { path: '/d', format: 'vmdk' } } }, /context\.volumes\[d\]\.format: must be one of raw, qcow2/);
  refuses({ ...FULL, volumes: { d: { path: '/d', format: 'qcow2', backing: { path: 'x', format: 'raw' } } } }, /context\.volumes\[d\]\.backing\.path/);
  const host = (hostFile: object): unknown => ({ ...FULL, volumes: { d: { path: '/srv/d', format: 'raw', hostFile: { root: '/srv', path: 'd', dev: '1', ino: '2', ...hostFile } } } });
  refuses(host({ root: 'srv' }), /context\.volumes\[d\]\.hostFile\.root: must be an absolute path/);
  for (const path of ['', '/srv/d', '../d', 'a/../../d']) refuses(host({ path }), /context\.volumes\[d\]\.hostFile\.path: must be a path beneath the root without '\.\.'/);
  for (const dev of ['', '-1', '0x10', '18446744073709551616', '01']) refuses(host({ dev }), /context\.volumes\[d\]\.hostFile\.dev: must be a decimal number below 2\^64/);
  refuses({ ...FULL, interfaces: { default: { tapName: '' } } }, /context\.interfaces\[default\]\.tapName: missing/);
  assert.throws(() => decodeLaunchContext(null), /Sync context: missing/);
});

test('the run directory layout and the version are one constant each', () => {
  assert.deepEqual(runDirLayout('/r/u'), Object.fromEntries(Object.entries(RUN_DIR_FILES).map(([k, n]) => [k, `/r/u/${n}`])));
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
  assert.equal(VERSION, pkg.version, 'proto/version.ts and package.json');
});
