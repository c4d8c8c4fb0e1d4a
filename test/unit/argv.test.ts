// The full QEMU argv for five VMIs, pinned, and proof that user strings cannot add
// options. test/e2e/qmp-real.test.ts starts the real QEMU 7.2 with these argvs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildArgv } from '../../launcher/domain/argv.js';
import { vmiToDomain } from '../../launcher/domain/convert.js';
import { escapeOptValue } from '../../launcher/domain/qemu-opts.js';
import { FIRMWARE_UUID, HOSTILE_DIR, KERNEL_ARGS, context, gettingStarted, hostileDisk, kernelBoot, rngNoBalloonNoSerial, twoDisks } from './domain-fixtures.js';

const RUN = '/run/virtnode/vms/default_vm';

const HEAD = [
  'qemu-system-x86_64',
  '-S',
  '-nodefaults',
  '-no-user-config',
  '-display', 'none',
  '-msg', 'timestamp=on',
  '-sandbox', 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny',
];

function machine(name: string, smbiosExtra = ''): string[] {
  return [
    '-name', `guest=default_${name},debug-threads=on`,
    '-uuid', FIRMWARE_UUID,
    '-smbios', `type=1,uuid=${FIRMWARE_UUID}${smbiosExtra}`,
    '-machine', 'q35,usb=off,vmport=off,dump-guest-core=off',
    '-accel', 'tcg,tb-size=128',
    '-cpu', 'qemu64,arat=on',
    '-smp', '1,sockets=1,cores=1,threads=1',
    '-m', 'size=64000000b',
    '-action', 'reboot=reset,shutdown=poweroff,panic=pause',
    '-chardev', `socket,id=charmonitor,path=${RUN}/qemu/qmp.sock,server=on,wait=off`,
    '-mon', 'chardev=charmonitor,id=monitor,mode=control',
  ];
}

const SERIAL = [
  '-chardev', `socket,id=charserial0,path=${RUN}/qemu/serial0.sock,server=on,wait=off`,
  '-device', '{"driver":"isa-serial","id":"serial0","chardev":"charserial0"}',
];

const TAIL = [
  '-device', '{"driver":"virtio-serial-pci","id":"virtio-serial0"}',
  '-chardev', `socket,id=charchannel0,path=${RUN}/qemu/agent.sock,server=on,wait=off`,
  '-device', '{"driver":"virtserialport","id":"channel0","bus":"virtio-serial0.0","nr":1,"chardev":"charchannel0","name":"org.qemu.guest_agent.0"}',
  '-device', '{"driver":"pvpanic-pci","id":"panic0"}',
  // Spare PCIe root ports for hot-plugged NICs.
  '-device', '{"driver":"pcie-root-port","id":"hotplug0","chassis":1}',
  '-device', '{"driver":"pcie-root-port","id":"hotplug1","chassis":2}',
];

// The virtio-scsi controller every domain gets for hot-plugged disks (unless disableHotplug).
const SCSI = ['-device', '{"driver":"virtio-scsi-pci","id":"scsi0"}'];

const BALLOON = ['-device', '{"driver":"virtio-balloon-pci","id":"balloon0","free-page-reporting":true}'];

function blockdevs(node: string, path: string, format: string, direct = false): string[] {
  const cache = `"cache":{"direct":${direct},"no-flush":false}`;
  return [
    '-blockdev', `{"driver":"file","node-name":"${node}-file","filename":${JSON.stringify(path)},"read-only":false,${cache}}`,
    '-blockdev', `{"driver":"${format}","node-name":"${node}","file":"${node}-file","read-only":false,${cache}}`,
  ];
}

test('(a) the getting-started VM: one containerDisk, 64M', () => {
  const d = vmiToDomain(gettingStarted(), context(RUN, { containerdisk: { path: `${RUN}/disks/containerdisk.qcow2`, format: 'qcow2' } }));
  assert.deepEqual(buildArgv(d), [
    ...HEAD,
    ...machine('vm-cirros'),
    '-boot', 'strict=on',
    ...SERIAL,
    ...SCSI,
    ...blockdevs('disk0', `${RUN}/disks/containerdisk.qcow2`, 'qcow2'),
    '-device', '{"driver":"virtio-blk-pci","id":"ua-containerdisk","drive":"disk0","write-cache":"off","bootindex":1,"werror":"stop","rerror":"stop"}',
    ...BALLOON,
    ...TAIL,
  ]);
});

test('(b) a disk path with "," and "=" stays one JSON value; serials cannot add options', () => {
  const path = `${HOSTILE_DIR}/disk.qcow2`;
  const d = vmiToDomain(hostileDisk(), context(RUN, { containerdisk: { path, format: 'qcow2' } }));
  const argv = buildArgv(d);
  assert.deepEqual(argv, [
    ...HEAD,
    ...machine('hostile', ',serial=x,,uuid=00000000-0000-0000-0000-000000000000'),
    '-boot', 'strict=on',
    ...SERIAL,
    ...SCSI,
    ...blockdevs('disk0', path, 'qcow2'),
    '-device', '{"driver":"virtio-blk-pci","id":"ua-containerdisk","drive":"disk0","write-cache":"off","serial":"S,N=1","bootindex":1,"werror":"stop","rerror":"stop"}',
    ...BALLOON,
    ...TAIL,
  ]);

  // The path appears in exactly one argument: the file node's JSON, as its filename.
  const holders = argv.filter((a) => a.includes('a,b=c'));
  assert.equal(holders.length, 1);
  const file = JSON.parse(holders[0]!);
  assert.deepEqual(Object.keys(file), ['driver', 'node-name', 'filename', 'read-only', 'cache']);
  assert.equal(file.filename, path);
  // The disk serial likewise, inside the device JSON.
  const dev = JSON.parse(argv[argv.indexOf('-device', argv.indexOf(holders[0]!)) + 1]!);
  assert.equal(dev.serial, 'S,N=1');
  assert.equal(dev.driver, 'virtio-blk-pci');
  // The SMBIOS serial is the one user string in a legacy option: QEMU's parser sees three keys.
  const smbios = parseLegacyOpts(argv[argv.indexOf('-smbios') + 1]!);
  assert.deepEqual(smbios, [['type', '1'], ['uuid', FIRMWARE_UUID], ['serial', 'x,uuid=00000000-0000-0000-0000-000000000000']]);
});

test("SMBIOS: the node's type 1 fields, escaped, after the uuid; the VMI's serial last", () => {
  const v = gettingStarted();
  v.spec.domain.firmware = { uuid: FIRMWARE_UUID, serial: 'SN-1' };
  const argv = buildArgv(vmiToDomain(v, context(RUN, { containerdisk: { path: '/d.qcow2', format: 'qcow2' } }, { smbios: { manufacturer: 'KubeVirt', product: 'None', version: '', family: 'Kube,Virt' } })));
  assert.deepEqual(parseLegacyOpts(argv[argv.indexOf('-smbios') + 1]!), [['type', '1'], ['uuid', FIRMWARE_UUID], ['manufacturer', 'KubeVirt'], ['product', 'None'], ['family', 'Kube,Virt'], ['serial', 'SN-1']]);
});

test('graphics (autoattachGraphicsDevice unset or true): a VGA with 16 MiB and `-vnc none`; false: neither', () => {
  const ctx = context(RUN, { containerdisk: { path: '/d.qcow2', format: 'qcow2' } });
  for (const attach of [undefined, true]) {
    const v = gettingStarted();
    if (attach === undefined) delete v.spec.domain.devices.autoattachGraphicsDevice;
    else v.spec.domain.devices.autoattachGraphicsDevice = attach;
    const d = vmiToDomain(v, ctx);
    // The screendump lands in QEMU's own directory, the one place its view lets it write.
    assert.deepEqual(d.graphics, { vgaMemoryMiB: 16, screendump: `${RUN}/qemu/screendump.png` });
    const argv = buildArgv(d);
    const vga = argv.filter((a) => a.includes('"VGA"'));
    assert.deepEqual(vga, ['{"driver":"VGA","id":"video0","vgamem_mb":16}']);
    assert.equal(argv[argv.indexOf(vga[0]!) - 1], '-device');
    // No listening socket of QEMU's own, no TCP port: clients come through QMP add_client.
    assert.deepEqual(argv.slice(argv.indexOf('-vnc'), argv.indexOf('-vnc') + 2), ['-vnc', 'none']);
    assert.equal(argv.filter((a) => a === '-vnc').length, 1);
    assert.equal(argv.filter((a) => a === '-display').length, 1);
    assert.equal(argv[argv.indexOf('-display') + 1], 'none');
  }
  const off = buildArgv(vmiToDomain(gettingStarted(), ctx));
  assert.ok(!off.includes('-vnc') && !off.some((a) => a.includes('VGA')), off.join(' '));
});

test('(c) kernelBoot: -kernel/-initrd/-append carry the command line verbatim', () => {
  const d = vmiToDomain(kernelBoot(), context(RUN, { containerdisk: { path: `${RUN}/disks/containerdisk.qcow2`, format: 'qcow2' } }, { kernelBoot: { kernel: '/var/lib/vn/k,1=2/vmlinuz', initrd: '/var/lib/vn/k,1=2/initrd' } }));
  assert.deepEqual(buildArgv(d), [
    ...HEAD,
    ...machine('kboot'),
    '-boot', 'strict=on',
    '-kernel', '/var/lib/vn/k,1=2/vmlinuz',
    '-initrd', '/var/lib/vn/k,1=2/initrd',
    '-append', KERNEL_ARGS,
    ...SERIAL,
    ...SCSI,
    ...blockdevs('disk0', `${RUN}/disks/containerdisk.qcow2`, 'qcow2'),
    '-device', '{"driver":"virtio-blk-pci","id":"ua-containerdisk","drive":"disk0","write-cache":"off","bootindex":1,"werror":"stop","rerror":"stop"}',
    ...BALLOON,
    ...TAIL,
  ]);
});

test('(d) rng on, balloon off, serial console off', () => {
  const d = vmiToDomain(rngNoBalloonNoSerial(), context(RUN, { containerdisk: { path: `${RUN}/disks/containerdisk.qcow2`, format: 'qcow2' } }));
  assert.equal(d.serialSocket, undefined);
  assert.equal(d.balloon, undefined);
  assert.deepEqual(buildArgv(d), [
    ...HEAD,
    ...machine('quiet'),
    '-boot', 'strict=on',
    ...SCSI,
    ...blockdevs('disk0', `${RUN}/disks/containerdisk.qcow2`, 'qcow2'),
    '-device', '{"driver":"virtio-blk-pci","id":"ua-containerdisk","drive":"disk0","write-cache":"off","bootindex":1,"werror":"stop","rerror":"stop"}',
    '-object', '{"qom-type":"rng-random","id":"objrng0","filename":"/dev/urandom"}',
    '-device', '{"driver":"virtio-rng-pci","id":"rng0","rng":"objrng0"}',
    ...TAIL,
  ]);
});

test('(e) two disks with bootOrder: bootindex follows bootOrder, not spec order', () => {
  const d = vmiToDomain(
    twoDisks(),
    context(RUN, {
      data: { path: `${RUN}/disks/data.qcow2`, format: 'qcow2', directIo: true },
      root: { path: `${RUN}/disks/root.raw`, format: 'raw' },
    }),
  );
  assert.deepEqual(buildArgv(d), [
    ...HEAD,
    ...machine('twodisks'),
    '-boot', 'strict=on',
    ...SERIAL,
    ...SCSI,
    ...blockdevs('disk0', `${RUN}/disks/data.qcow2`, 'qcow2', true),
    '-device', '{"driver":"virtio-blk-pci","id":"ua-data","drive":"disk0","write-cache":"on","bootindex":2,"werror":"stop","rerror":"stop"}',
    ...blockdevs('disk1', `${RUN}/disks/root.raw`, 'raw'),
    '-device', '{"driver":"virtio-blk-pci","id":"ua-root","drive":"disk1","write-cache":"off","bootindex":1,"werror":"stop","rerror":"stop"}',
    ...BALLOON,
    ...TAIL,
  ]);
});

test('a qcow2 overlay with an explicit backing image: read-only base nodes, then the overlay naming it', () => {
  const d = vmiToDomain(
    gettingStarted(),
    context(RUN, { containerdisk: { path: `${RUN}/disks/overlay.qcow2`, format: 'qcow2', backing: { path: '/var/lib/vn/images/sha256,x/disk.img', format: 'raw' } } }),
  );
  const argv = buildArgv(d);
  const blockdevArgs = argv.flatMap((a, i) => (argv[i - 1] === '-blockdev' ? [JSON.parse(a)] : []));
  const cache = { direct: false, 'no-flush': false };
  assert.deepEqual(blockdevArgs, [
    { driver: 'file', 'node-name': 'disk0-base-file', filename: '/var/lib/vn/images/sha256,x/disk.img', 'read-only': true, cache },
    { driver: 'raw', 'node-name': 'disk0-base', file: 'disk0-base-file', 'read-only': true, cache },
    { driver: 'file', 'node-name': 'disk0-file', filename: `${RUN}/disks/overlay.qcow2`, 'read-only': false, cache },
    { driver: 'qcow2', 'node-name': 'disk0', file: 'disk0-file', 'read-only': false, cache, backing: 'disk0-base' },
  ]);
});

test('KVM: -accel kvm and -cpu host; a named CPU model passes through', () => {
  const v = gettingStarted();
  const ctx = { ...context(RUN, { containerdisk: { path: '/d.qcow2', format: 'qcow2' as const } }), accelerator: 'kvm' as const };
  let argv = buildArgv(vmiToDomain(v, ctx));
  assert.equal(argv[argv.indexOf('-accel') + 1], 'kvm');
  assert.equal(argv[argv.indexOf('-cpu') + 1], 'host');
  v.spec.domain.cpu = { model: 'Skylake-Client', sockets: 2, cores: 2, threads: 1 };
  argv = buildArgv(vmiToDomain(v, ctx));
  assert.equal(argv[argv.indexOf('-cpu') + 1], 'Skylake-Client');
  assert.equal(argv[argv.indexOf('-smp') + 1], '4,sockets=2,cores=2,threads=1');
});

test('escapeOptValue doubles every comma and nothing else', () => {
  assert.equal(escapeOptValue('/a,b=c/,,d,'), '/a,,b=c/,,,,d,,');
  assert.equal(escapeOptValue('plain=path'), 'plain=path');
  // Round trip through a QemuOpts-style parser.
  for (const v of ['a,b', ',', ',,,', 'x=y,z=w', 'ends,']) assert.deepEqual(parseLegacyOpts(`k=${escapeOptValue(v)},n=1`), [['k', v], ['n', '1']]);
});

test('socket paths go through the escaping too', () => {
  const run = '/run/vn/a,b=c';
  const d = vmiToDomain(gettingStarted(), context(run, { containerdisk: { path: '/d.qcow2', format: 'qcow2' } }));
  const argv = buildArgv(d);
  const chardevs = argv.flatMap((a, i) => (argv[i - 1] === '-chardev' ? [parseLegacyOpts(a)] : []));
  assert.deepEqual(chardevs.map((c) => c.find(([k]) => k === 'path')?.[1]), [`${run}/qemu/qmp.sock`, `${run}/qemu/serial0.sock`, `${run}/qemu/agent.sock`]);
  for (const c of chardevs) assert.deepEqual(c.map(([k]) => k), ['socket', 'id', 'path', 'server', 'wait']);
});

test('buildArgv is pure: same Domain, same argv, Domain untouched', () => {
  const d = vmiToDomain(twoDisks(), context(RUN, { data: { path: '/a.qcow2', format: 'qcow2' }, root: { path: '/b.raw', format: 'raw' } }));
  const before = JSON.stringify(d);
  assert.deepEqual(buildArgv(d), buildArgv(d));
  assert.equal(JSON.stringify(d), before);
  assert.equal(buildArgv(d, { qemuBinary: '/opt/qemu/bin/qemu-system-x86_64' })[0], '/opt/qemu/bin/qemu-system-x86_64');
});

/**
 * QEMU's legacy option parsing (util/qemu-option.c get_opt_value/get_opt_name): a
 * value ends at a single ',', ",," is a literal comma, and a first element without
 * '=' is the implied key's value.
 */
function parseLegacyOpts(s: string): [string, string][] {
  const out: [string, string][] = [];
  let i = 0;
  while (i < s.length) {
    let name = '';
    while (i < s.length && s[i] !== '=' && s[i] !== ',') name += s[i++];
    let value = '';
    if (s[i] === '=') {
      i++;
      for (;;) {
        if (i >= s.length) break;
        if (s[i] === ',') {
          if (s[i + 1] === ',') {
            value += ',';
            i += 2;
            continue;
          }
          break;
        }
        value += s[i++];
      }
    }
    out.push([name, value]);
    i++; // the separating comma
  }
  return out;
}
