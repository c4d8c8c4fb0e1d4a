import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, parseListenAddress } from '../../handler/config.js';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('parseListenAddress: host:port, [v6]:port and :port; anything else is refused', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:8443'), { host: '127.0.0.1', port: 8443 });
  assert.deepEqual(parseListenAddress('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListenAddress(':9000'), { host: '', port: 9000 });
  assert.deepEqual(parseListenAddress('node-1.example:443'), { host: 'node-1.example', port: 443 });
  for (const bad of ['8443', '127.0.0.1', '::1:8443', '[::1]', 'host:65536', 'host:-1', 'host:80x', 'a:b:1']) assert.equal(parseListenAddress(bad), undefined, bad);
});

test('--listen-tcp with a malformed address is refused at start, naming the field', () => {
  const tls = ['--tls-cert', '/c', '--tls-key', '/k', '--tls-ca', '/ca'];
  assert.throws(() => loadConfig(['--listen-tcp', '0.0.0.0:99999', ...tls]), /tcp\.address \(--listen-tcp\): "0\.0\.0\.0:99999" must be host:port/);
  assert.equal(loadConfig(['--listen-tcp', '0.0.0.0:8443', ...tls]).tcp?.address, '0.0.0.0:8443');
});

test('the DaemonSet mode is refused until it exists, from a flag or a config file', () => {
  assert.throws(() => loadConfig(['--mode', 'daemonset']), /mode \(--mode\): "daemonset" is not implemented yet/);
  const dir = mkdtempSync(join(tmpdir(), 'vn-cfg-'));
  try {
    writeFileSync(join(dir, 'c.yaml'), 'mode: daemonset\n');
    assert.throws(() => loadConfig(['--config', join(dir, 'c.yaml')]), /"daemonset" is not implemented yet/);
    writeFileSync(join(dir, 'c.yaml'), 'mode: cluster\n');
    assert.throws(() => loadConfig(['--config', join(dir, 'c.yaml')]), /"cluster" is not standalone or daemonset/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(loadConfig(['--mode', 'standalone']).mode, 'standalone');
});

test("SMBIOS: KubeVirt's defaults, fields set by flag or config file, bad ones refused by name", () => {
  assert.deepEqual(loadConfig([]).smbios, { manufacturer: 'KubeVirt', product: 'None', version: '', sku: '', family: 'KubeVirt' });
  assert.deepEqual(loadConfig(['--smbios', 'manufacturer=ACME', '--smbios', 'version=2']).smbios, { manufacturer: 'ACME', product: 'None', version: '2', sku: '', family: 'KubeVirt' });
  assert.throws(() => loadConfig(['--smbios', 'vendor=x']), /smbios\.vendor \(--smbios\): unknown field/);
  assert.throws(() => loadConfig(['--smbios', `product=${'x'.repeat(256)}`]), /smbios\.product \(--smbios\): at most 255 bytes/);
  const dir = mkdtempSync(join(tmpdir(), 'vn-cfg-'));
  try {
    writeFileSync(join(dir, 'c.yaml'), 'smbios:\n  family: Lab\n');
    assert.deepEqual(loadConfig(['--config', join(dir, 'c.yaml')]).smbios, { manufacturer: 'KubeVirt', product: 'None', version: '', sku: '', family: 'Lab' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unknown flag, a flag without its value, or a value on a switch is refused by name', () => {
  assert.throws(() => loadConfig(['--bogus-flag', 'x']), /unknown flag "--bogus-flag"/);
  assert.throws(() => loadConfig(['--registry-mirorr', 'quay.io=http://127.0.0.1:5000']), /unknown flag "--registry-mirorr"/);
  assert.throws(() => loadConfig(['--state-dir']), /--state-dir needs a value/);
  assert.throws(() => loadConfig(['--state-dir', '--run-dir', '/run/x']), /--state-dir needs a value/);
  assert.throws(() => loadConfig(['--allow-emulation=yes']), /--allow-emulation takes no value/);
  assert.equal(loadConfig(['--state-dir=/var/lib/vn', '--allow-emulation']).stateDir, '/var/lib/vn');
});

test('host disk roots: none by default; absolute existing directories, realpath-ed, deduplicated; bad ones refused by name', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-cfg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const state = ['--state-dir', join(dir, 'state'), '--run-dir', '/run/vn-cfg-test'];
  mkdirSync(join(dir, 'disks', 'a'), { recursive: true });
  symlinkSync(join(dir, 'disks'), join(dir, 'link'));
  writeFileSync(join(dir, 'file'), '');
  assert.deepEqual(loadConfig(state).hostDiskRoots, []);
  const real = realpathSync(join(dir, 'disks'));
  assert.deepEqual(loadConfig([...state, '--host-disk-root', join(dir, 'link'), '--host-disk-root', join(dir, 'disks/a/..')]).hostDiskRoots, [real]);
  assert.deepEqual(loadConfig([...state, '--host-disk-root', join(dir, 'disks'), '--host-disk-root', join(dir, 'disks', 'a')]).hostDiskRoots, [real, join(real, 'a')]);
  const refused = (args: string[], re: RegExp): void => assert.throws(() => loadConfig([...state, ...args]), (e: unknown) => re.test((e as Error).message) && /^hostDiskRoots \(--host-disk-root\): /.test((e as Error).message));
  refused(['--host-disk-root', 'disks'], /"disks" must be an absolute path/);
  refused(['--host-disk-root', join(dir, 'nope')], /nope" does not exist \(ENOENT\)/);
  refused(['--host-disk-root', join(dir, 'file')], /file" is not a directory/);
  refused(['--host-disk-root', dir], /overlaps the handler's state directory/);
  refused(['--host-disk-root', '/'], /"\/" overlaps the handler's state directory/);
  // A state directory beneath a root (the last --state-dir counts).
  refused(['--host-disk-root', join(dir, 'disks'), '--state-dir', join(dir, 'disks', 'a', 'state')], /overlaps the handler's state directory/);
  // The config file's key; a flag replaces the file's list.
  writeFileSync(join(dir, 'c.yaml'), `hostDiskRoots:\n  - ${join(dir, 'disks', 'a')}\n`);
  assert.deepEqual(loadConfig([...state, '--config', join(dir, 'c.yaml')]).hostDiskRoots, [join(real, 'a')]);
  assert.deepEqual(loadConfig([...state, '--config', join(dir, 'c.yaml'), '--host-disk-root', join(dir, 'disks')]).hostDiskRoots, [real]);
  writeFileSync(join(dir, 'c.yaml'), `hostDiskRoots: ${join(dir, 'disks')}\n`);
  assert.throws(() => loadConfig([...state, '--config', join(dir, 'c.yaml')]), /hostDiskRoots \(--host-disk-root\): must be a list of directories/);
});

test('--storage-dir: absolute, in the config file as storageDir, never overlapping a host disk root', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-cfg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const state = ['--state-dir', join(dir, 'state'), '--run-dir', '/run/vn-cfg-test'];
  mkdirSync(join(dir, 'disks', 'pvcs'), { recursive: true });
  assert.equal(loadConfig(state).storageDir, undefined, 'default: <state-dir>/storage');
  assert.equal(loadConfig([...state, '--storage-dir', join(dir, 'pvcs')]).storageDir, join(dir, 'pvcs'));
  writeFileSync(join(dir, 'c.yaml'), `storageDir: ${join(dir, 'pvcs')}\n`);
  assert.equal(loadConfig([...state, '--config', join(dir, 'c.yaml')]).storageDir, join(dir, 'pvcs'));
  writeFileSync(join(dir, 'c.yaml'), 'storageDir: relative/dir\n');
  assert.throws(() => loadConfig([...state, '--config', join(dir, 'c.yaml')]), /storageDir \(--storage-dir\): "relative\/dir" must be an absolute path/);
  // A claim's disk.img must never be a hostDisk a user can name.
  assert.throws(() => loadConfig([...state, '--storage-dir', join(dir, 'disks', 'pvcs'), '--host-disk-root', join(dir, 'disks')]), /hostDiskRoots \(--host-disk-root\): .* overlaps the handler's storage directory/);
  assert.throws(() => loadConfig([...state, '--storage-dir', join(dir, 'disks'), '--host-disk-root', join(dir, 'disks', 'pvcs')]), /overlaps the handler's storage directory/);
});

test('--metrics-listen and --guest-stats-interval: taken when well-formed, refused by name otherwise', () => {
  assert.equal(loadConfig([]).metricsListen, undefined, 'no /metrics unless asked');
  assert.equal(loadConfig([]).guestStatsIntervalSeconds, 15);
  const c = loadConfig(['--metrics-listen', '127.0.0.1:8443', '--guest-stats-interval', '30']);
  assert.equal(c.metricsListen, '127.0.0.1:8443');
  assert.equal(c.guestStatsIntervalSeconds, 30);
  assert.throws(() => loadConfig(['--metrics-listen', 'localhost']), /metricsListen \(--metrics-listen\): "localhost" must be host:port/);
  for (const bad of ['0', '1.5', 'x', '3601']) assert.throws(() => loadConfig(['--guest-stats-interval', bad]), /guestStatsIntervalSeconds \(--guest-stats-interval\)/, bad);
});
