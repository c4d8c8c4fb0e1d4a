// containerDisk and kernelBoot pulls against a real docker-registry, with images
// built here and pushed by skopeo.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ImageService, type PullProgress } from '../../handler/images/index.js';
import { RegistryClient } from '../../handler/images/registry.js';
import { registryHosts } from '../../handler/images/hosts.js';
import {
  freePort, makeTmp, push, qcow2Bytes, registryBlobPath, startProxy, startRegistry, writeOciLayout,
  type TarEntry, type TestRegistry,
} from './helpers/registry.js';

const run = promisify(execFile);

let tmp: string;
let reg: TestRegistry;
let qcow2: Buffer;
let n = 0;

before(async () => {
  tmp = await makeTmp('vn-images-pull-');
  reg = await startRegistry(join(tmp, 'registry'));
  qcow2 = await qcow2Bytes(tmp);
});

after(async () => {
  await reg?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** A store of its own for each test, reaching the test registry as an http mirror of itself. */
function service(extra: Partial<ConstructorParameters<typeof ImageService>[0]> = {}): ImageService {
  return new ImageService({ stateDir: join(tmp, `state-${++n}`), mirrors: { [reg.host]: { endpoints: [reg.url] } }, mirrorsOnly: true, ...extra });
}

async function pushImage(repo: string, tag: string, layers: TarEntry[][], opts: { format?: 'v2s2' } = {}) {
  const dir = join(tmp, `layout-${++n}`);
  const built = await writeOciLayout(dir, tag, { layers });
  await push(dir, tag, reg, repo, opts);
  return built;
}

const diskLayer = (data: Buffer = qcow2, name = 'disk.qcow2'): TarEntry[] => [{ path: 'disk/', type: 'dir' }, { path: `disk/${name}`, data }];

async function files(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true })).map(String).sort();
  } catch {
    return [];
  }
}

test('pull by tag and by digest: one verified copy of the disk per manifest digest', async () => {
  const built = await pushImage('vm/cirros', 'v1', [diskLayer()]);
  const svc = service();
  const byTag = await svc.pullContainerDisk(`${reg.host}/vm/cirros:v1`);
  assert.equal(byTag.digest, built.digest);
  assert.equal(byTag.format, 'qcow2');
  assert.equal(byTag.virtualSize, 1 << 20);
  assert.equal(byTag.reference, `${reg.host}/vm/cirros:v1`);
  assert.ok(byTag.diskPath.endsWith(`/disks/sha256/${built.digest.slice(7)}/disk/disk.qcow2`), byTag.diskPath);
  assert.deepEqual(await readFile(byTag.diskPath), qcow2);
  assert.equal((await stat(byTag.diskPath)).mode & 0o777, 0o444, 'the shared base is read-only');

  const byDigest = await svc.pullContainerDisk(`${reg.host}/vm/cirros@${built.digest}`);
  assert.equal(byDigest.diskPath, byTag.diskPath);
  const listed = await svc.list();
  assert.equal(listed.length, 1);
  assert.deepEqual(listed[0]!.references, [`${reg.host}/vm/cirros:v1`]);
  assert.deepEqual(listed[0]!.files, [{ path: 'disk/disk.qcow2', size: qcow2.length, format: 'qcow2' }]);

  // A digest no registry has: the error names the image, the step and the registry's answer.
  const missing = `${reg.host}/vm/cirros@sha256:${'0'.repeat(64)}`;
  await assert.rejects(svc.pullContainerDisk(missing), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'VN_IMAGE');
    assert.match(e.message, new RegExp(`^pull ${missing.replace(/[.]/g, '\\.')}: manifest sha256:000000000000: manifest unknown \\(404\\) \\(from ${reg.url.replace(/[.]/g, '\\.')}\\)$`));
    return true;
  });
  await assert.rejects(svc.pullContainerDisk(`${reg.host}/vm/nothing:v1`), /pull 127\.0\.0\.1:\d+\/vm\/nothing:v1: manifest v1: (manifest unknown|repository name not known to registry) \(404\)/);
});

test('Docker schema2 manifests pull too', async () => {
  const built = await pushImage('vm/docker-format', 'v1', [diskLayer()], { format: 'v2s2' });
  const svc = service();
  const r = await svc.pullContainerDisk(`${reg.host}/vm/docker-format:v1`);
  const manifest = JSON.parse(await readFile(join(tmp, `state-${n}`, 'blobs', 'sha256', r.digest.slice(7)), 'utf8')) as { mediaType: string; layers: { mediaType: string }[] };
  assert.equal(manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  assert.equal(manifest.layers[0]!.mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
  assert.notEqual(r.digest, built.digest, 'skopeo converted the manifest');
  assert.deepEqual(await readFile(r.diskPath), qcow2);
});

test('a multi-arch index resolves to linux/amd64', async () => {
  const dir = join(tmp, `layout-${++n}`);
  const arm = Buffer.from('arm64 disk, not a qcow2');
  const built = await writeOciLayout(dir, 'multi', [
    { architecture: 'arm64', layers: [diskLayer(arm, 'disk.img')] },
    { architecture: 'amd64', layers: [diskLayer()] },
  ]);
  await push(dir, 'multi', reg, 'vm/multi', { all: true });
  const svc = service();
  const r = await svc.pullContainerDisk(`${reg.host}/vm/multi:multi`);
  assert.equal(r.digest, built.images[1]!.manifestDigest);
  assert.deepEqual(await readFile(r.diskPath), qcow2);
  const [img] = await svc.list();
  assert.equal(img!.indexDigest, built.digest);
  // Pulling by the index digest finds the same image.
  const byIndex = await svc.pullContainerDisk(`${reg.host}/vm/multi@${built.digest}`);
  assert.equal(byIndex.diskPath, r.diskPath);

  const armSvc = service({ platform: { os: 'linux', architecture: 'arm64' } });
  const a = await armSvc.pullContainerDisk(`${reg.host}/vm/multi:multi`);
  assert.equal(a.digest, built.images[0]!.manifestDigest);
  assert.equal(a.format, 'raw');
  assert.deepEqual(await readFile(a.diskPath), arm);
  const s390 = service({ platform: { os: 'linux', architecture: 's390x' } });
  await assert.rejects(s390.pullContainerDisk(`${reg.host}/vm/multi:multi`), /platform: no manifest for linux\/s390x in the index \(it has: linux\/arm64, linux\/amd64\)/);
});

test('a corrupted blob is refused and nothing is stored', async () => {
  // A layer of its own: the registry stores blobs once for all repositories.
  const built = await pushImage('vm/corrupt', 'v1', [diskLayer(qcow2, 'corrupt.qcow2')]);
  const layer = built.images[0]!.layerDigests[0]!;
  const path = registryBlobPath(reg, layer);
  const good = await readFile(path);
  const bad = Buffer.from(good);
  bad[bad.length - 20] ^= 0xff; // same size, different bytes
  await writeFile(path, bad);
  try {
    const stateDir = join(tmp, `state-${++n}`);
    const svc = new ImageService({ stateDir, mirrors: { [reg.host]: { endpoints: [reg.url] } }, mirrorsOnly: true });
    await assert.rejects(svc.pullContainerDisk(`${reg.host}/vm/corrupt:v1`), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'VN_IMAGE');
      assert.match(e.message, new RegExp(`^pull 127\\.0\\.0\\.1:${reg.port}/vm/corrupt:v1: layer ${layer.slice(0, 19)}: digest mismatch: the content hashes to sha256:[0-9a-f]{64} \\(from http://127\\.0\\.0\\.1:${reg.port}\\)$`));
      return true;
    });
    assert.deepEqual(await files(join(stateDir, 'blobs')), ['sha256']);
    assert.deepEqual(await files(join(stateDir, 'disks')), ['sha256']);
    assert.deepEqual(await files(join(stateDir, 'tmp')), []);
    assert.deepEqual(await svc.list(), []);
    // Put it right, and the same service pulls.
    await writeFile(path, good);
    const r = await svc.pullContainerDisk(`${reg.host}/vm/corrupt:v1`);
    assert.deepEqual(await readFile(r.diskPath), qcow2);
  } finally {
    await writeFile(path, good);
  }
});

test('mirrors: a quay.io reference served by a local mirror, dead mirrors skipped, failures listed', async () => {
  await pushImage('kubevirt/cirros-container-disk-demo', 'v1', [diskLayer()]);
  const proxy = await startProxy(reg.url);
  const dead = await freePort(); // nothing listens there
  try {
    const svc = service({ mirrors: { 'quay.io': { endpoints: [`http://127.0.0.1:${dead}`, proxy.url] } }, mirrorsOnly: true });
    const r = await svc.pullContainerDisk('quay.io/kubevirt/cirros-container-disk-demo:v1');
    assert.equal(r.reference, 'quay.io/kubevirt/cirros-container-disk-demo:v1');
    assert.deepEqual(await readFile(r.diskPath), qcow2);
    assert.ok(proxy.count(/^GET \/v2\/kubevirt\/cirros-container-disk-demo\/manifests\/v1$/) === 1, proxy.seen.join('\n'));

    await assert.rejects(svc.pullContainerDisk('quay.io/kubevirt/absent:v1'), (e: Error) => {
      assert.match(e.message, new RegExp(`^pull quay\\.io/kubevirt/absent:v1: manifest v1: every endpoint failed: http://127\\.0\\.0\\.1:${dead}: GET http://127\\.0\\.0\\.1:${dead}/v2/kubevirt/absent/manifests/v1: connect ECONNREFUSED 127\\.0\\.0\\.1:${dead}; ${proxy.url.replace(/\./g, '\\.')}: manifest unknown \\(404\\)$`));
      return true;
    });
    // No mirror for the registry and mirrorsOnly: nothing to try.
    await assert.rejects(svc.pullContainerDisk('docker.io/library/busybox:1'), /no endpoint for registry docker\.io: mirrorsOnly/);
  } finally {
    await proxy.stop();
  }
  // Plain http only when a mirror says http://: the registry itself is always spoken to over TLS.
  const direct = new ImageService({ stateDir: join(tmp, `state-${++n}`) });
  await assert.rejects(direct.pullContainerDisk(`${reg.host}/kubevirt/cirros-container-disk-demo:v1`), (e: Error) => {
    assert.match(e.message, new RegExp(`\\(from https://127\\.0\\.0\\.1:${reg.port}\\)$`));
    return true;
  });
});

test('two VMs pulling at once share one download; one disk, two overlays; Always re-checks without downloading', async () => {
  const built = await pushImage('vm/shared', 'latest', [diskLayer()]);
  const layer = built.images[0]!.layerDigests[0]!;
  const proxy = await startProxy(reg.url, { delayBlobsMs: 300 });
  try {
    const stateDir = join(tmp, `state-${++n}`);
    const svc = new ImageService({ stateDir, mirrors: { [reg.host]: { endpoints: [proxy.url] } }, mirrorsOnly: true });
    const events: [PullProgress[], PullProgress[]] = [[], []];
    const image = `${reg.host}/vm/shared`;
    const [a, b] = await Promise.all([
      svc.pullContainerDisk(image, undefined, { holder: 'vmi-a', onProgress: (p) => events[0].push(p) }),
      svc.pullContainerDisk(image, undefined, { holder: 'vmi-b', onProgress: (p) => events[1].push(p) }),
    ]);
    assert.equal(a.diskPath, b.diskPath);
    assert.equal(proxy.count(new RegExp(`^GET /v2/vm/shared/blobs/${layer}$`)), 1, proxy.seen.join('\n'));
    assert.equal(proxy.count(/^GET \/v2\/vm\/shared\/manifests\/latest$/), 1);
    for (const ev of events) {
      const last = ev.filter((p) => p.layer === layer).at(-1);
      assert.deepEqual(last, { image: `${reg.host}/vm/shared:latest`, layer, bytesDone: last!.bytesTotal, bytesTotal: last!.bytesTotal });
    }
    assert.deepEqual(await files(join(stateDir, 'disks', 'sha256')), [built.digest.slice(7), `${built.digest.slice(7)}/disk`, `${built.digest.slice(7)}/disk/disk.qcow2`]);

    const oa = await svc.createOverlay(a, join(tmp, `overlay-a-${n}.qcow2`));
    const ob = await svc.createOverlay(b, join(tmp, `overlay-b-${n}.qcow2`));
    assert.deepEqual(oa, { path: join(tmp, `overlay-a-${n}.qcow2`), format: 'qcow2', backing: { path: a.diskPath, format: 'qcow2' } });
    for (const o of [oa, ob]) {
      const { stdout } = await run('qemu-img', ['info', '--output=json', '-U', o.path]);
      const info = JSON.parse(stdout) as Record<string, unknown>;
      assert.equal(info.format, 'qcow2');
      assert.equal(info['backing-filename'], a.diskPath);
      assert.equal(info['backing-filename-format'], 'qcow2');
    }
    await assert.rejects(svc.createOverlay(a, oa.path), /already exists/);

    // ":latest" defaults to Always: the manifest is fetched again, the blobs are not.
    const c = await svc.pullContainerDisk(image);
    assert.equal(c.diskPath, a.diskPath);
    assert.equal(proxy.count(/^GET \/v2\/vm\/shared\/manifests\/latest$/), 2);
    assert.equal(proxy.count(/\/blobs\//), 2, 'layer and config, once each');
    // IfNotPresent with the image present: no request at all.
    const before = proxy.seen.length;
    await svc.pullContainerDisk(image, 'IfNotPresent');
    assert.equal(proxy.seen.length, before);

    // gc keeps what VMs hold; release, then it goes.
    assert.deepEqual((await svc.gc()).images, []);
    await svc.release(a.digest, 'vmi-a');
    assert.deepEqual((await svc.gc()).images, []);
    await svc.removeOverlay(oa.path);
    await svc.removeOverlay(ob.path);
    await svc.release(undefined, 'vmi-b');
    const gc = await svc.gc();
    assert.deepEqual(gc.images, [built.digest]);
    assert.equal(gc.blobs, 3, 'manifest, config, layer');
    await assert.rejects(stat(a.diskPath), /ENOENT/);
    assert.deepEqual(await files(join(stateDir, 'blobs', 'sha256')), []);
    assert.deepEqual(await svc.list(), []);

    // An updated tag under Always: the new image, not the old one.
    const built2 = await pushImage('vm/shared', 'latest', [diskLayer(Buffer.concat([qcow2, Buffer.alloc(512)]))]);
    const d = await svc.pullContainerDisk(image);
    assert.equal(d.digest, built2.digest);
  } finally {
    await proxy.stop();
  }
});

test('imagePullPolicy Never uses only what is on the node', async () => {
  await pushImage('vm/never', 'v1', [diskLayer()]);
  const proxy = await startProxy(reg.url);
  try {
    const svc = service({ mirrors: { [reg.host]: { endpoints: [proxy.url] } } });
    const image = `${reg.host}/vm/never:v1`;
    await assert.rejects(svc.pullContainerDisk(image, 'Never'), /pull 127\.0\.0\.1:\d+\/vm\/never:v1: policy: the image is not present on this node and imagePullPolicy is Never/);
    assert.equal(proxy.seen.length, 0);
    const pulled = await svc.pullContainerDisk(image, 'IfNotPresent');
    const seen = proxy.seen.length;
    const again = await svc.pullContainerDisk(image, 'Never');
    assert.equal(again.diskPath, pulled.diskPath);
    assert.equal(proxy.seen.length, seen);
    await assert.rejects(svc.pullContainerDisk(image, 'Sometimes' as never), /imagePullPolicy: "Sometimes" is not Always, IfNotPresent or Never/);
  } finally {
    await proxy.stop();
  }
});

test('blob redirects are followed', async () => {
  await pushImage('vm/redirect', 'v1', [diskLayer()]);
  const proxy = await startProxy(reg.url, { redirectBlobs: true });
  try {
    const svc = service({ mirrors: { [reg.host]: { endpoints: [proxy.url] } } });
    const r = await svc.pullContainerDisk(`${reg.host}/vm/redirect:v1`);
    assert.deepEqual(await readFile(r.diskPath), qcow2);
    assert.equal(proxy.count(/^GET \/_storage\/v2\/vm\/redirect\/blobs\//), 2);
  } finally {
    await proxy.stop();
  }
});

test('hostile layers are refused: traversal, absolute paths, escaping symlinks, device nodes', async () => {
  const cases: [string, TarEntry[], RegExp][] = [
    ['dotdot', [...diskLayer(), { path: '../../../../../../tmp/vn-evil-dotdot', data: 'x' }], /path traversal in "\.\.\/\.\.\/.*vn-evil-dotdot"/],
    ['absolute', [...diskLayer(), { path: '/tmp/vn-evil-absolute', data: 'x' }], /absolute path "\/tmp\/vn-evil-absolute"/],
    ['symlink', [{ path: 'disk/', type: 'dir' }, { path: 'disk/disk.img', type: 'symlink', linkname: '../../../../etc/passwd' }], /symlink "disk\/disk\.img" -> "\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd" escapes the image root/],
    ['device', [{ path: 'disk/', type: 'dir' }, { path: 'disk/sda', type: 'char' }], /"disk\/sda" is a device node/],
    ['fifo', [{ path: 'disk/', type: 'dir' }, { path: 'disk/pipe', type: 'fifo' }], /"disk\/pipe" is a FIFO/],
  ];
  for (const [name, layer, re] of cases) {
    await pushImage(`vm/evil-${name}`, 'v1', [layer]);
    const stateDir = join(tmp, `state-${++n}`);
    const svc = new ImageService({ stateDir, mirrors: { [reg.host]: { endpoints: [reg.url] } }, mirrorsOnly: true });
    await assert.rejects(svc.pullContainerDisk(`${reg.host}/vm/evil-${name}:v1`), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'VN_IMAGE', name);
      assert.match(e.message, new RegExp(`^pull 127\\.0\\.0\\.1:\\d+/vm/evil-${name}:v1: layer sha256:[0-9a-f]{12}: `), name);
      assert.match(e.message, re, name);
      return true;
    });
    assert.deepEqual(await files(join(stateDir, 'disks', 'sha256')), [], name);
    assert.deepEqual(await files(join(stateDir, 'tmp')), [], name);
  }
  await assert.rejects(stat('/tmp/vn-evil-dotdot'), /ENOENT/);
  await assert.rejects(stat('/tmp/vn-evil-absolute'), /ENOENT/);
  // A device node outside the wanted paths is skipped, not refused (images built FROM a distro have /dev).
  await pushImage('vm/dev-elsewhere', 'v1', [[{ path: 'dev/', type: 'dir' }, { path: 'dev/null', type: 'char' }, ...diskLayer()]]);
  const ok = await service().pullContainerDisk(`${reg.host}/vm/dev-elsewhere:v1`);
  assert.deepEqual(await readFile(ok.diskPath), qcow2);
});

test('whiteouts and opaque directories hide lower layers; /disk/ must hold exactly one file', async () => {
  const extra = Buffer.from('an extra file');
  await pushImage('vm/two-files', 'v1', [[...diskLayer(), { path: 'disk/extra.img', data: extra }]]);
  await assert.rejects(service().pullContainerDisk(`${reg.host}/vm/two-files:v1`),
    /disk: several files under \/disk\/ \(\/disk\/disk\.qcow2, \/disk\/extra\.img\); set containerDisk\.path to choose one/);

  await pushImage('vm/whiteout', 'v1', [
    [...diskLayer(), { path: 'disk/extra.img', data: extra }],
    [{ path: 'disk/', type: 'dir' }, { path: 'disk/.wh.extra.img', data: '' }],
  ]);
  const w = await service().pullContainerDisk(`${reg.host}/vm/whiteout:v1`);
  assert.ok(w.diskPath.endsWith('/disk/disk.qcow2'));
  assert.deepEqual(await readFile(w.diskPath), qcow2);

  await pushImage('vm/opaque', 'v1', [
    [{ path: 'disk/', type: 'dir' }, { path: 'disk/old.img', data: extra }, { path: 'disk/older.img', data: extra }],
    [{ path: 'disk/', type: 'dir' }, { path: 'disk/new.qcow2', data: qcow2 }, { path: 'disk/.wh..wh..opq', data: '' }],
  ]);
  const o = await service().pullContainerDisk(`${reg.host}/vm/opaque:v1`);
  assert.ok(o.diskPath.endsWith('/disk/new.qcow2'));

  // The same name in a later layer replaces the lower file.
  await pushImage('vm/replace', 'v1', [diskLayer(extra, 'disk.img'), diskLayer(qcow2, 'disk.img')]);
  const rp = await service().pullContainerDisk(`${reg.host}/vm/replace:v1`);
  assert.equal(rp.format, 'qcow2');
  assert.deepEqual(await readFile(rp.diskPath), qcow2);

  await pushImage('vm/empty', 'v1', [[{ path: 'disk/', type: 'dir' }, { path: 'etc/hostname', data: 'x' }]]);
  await assert.rejects(service().pullContainerDisk(`${reg.host}/vm/empty:v1`), /disk: no disk found: \/disk\/ holds no regular file/);
});

test('containerDisk.path, raw disks kept sparse, and disks with backing files refused', async () => {
  // A raw disk of 8 MiB, almost all zeros.
  const raw = Buffer.alloc(8 << 20);
  raw.write('boot sector', 0);
  raw.write('end', raw.length - 3);
  await pushImage('vm/custom-path', 'v1', [[{ path: 'custom/', type: 'dir' }, { path: 'custom/my.img', data: raw }, ...diskLayer()]]);
  const svc = service();
  const r = await svc.pullContainerDisk(`${reg.host}/vm/custom-path:v1`, 'IfNotPresent', { path: '/custom/my.img' });
  assert.equal(r.format, 'raw');
  assert.equal(r.virtualSize, raw.length);
  assert.ok(r.diskPath.endsWith('/custom/my.img'));
  const st = await stat(r.diskPath);
  assert.equal(st.size, raw.length);
  assert.ok(st.blocks * 512 <= 64 << 10, `sparse: ${st.blocks * 512} bytes allocated`);
  assert.deepEqual(await readFile(r.diskPath), raw);
  // The default rule on the same image extracts the /disk/ file next to it, without pulling again.
  const d = await svc.pullContainerDisk(`${reg.host}/vm/custom-path:v1`, 'IfNotPresent');
  assert.ok(d.diskPath.endsWith('/disk/disk.qcow2'));
  assert.equal(d.digest, r.digest);
  await assert.rejects(svc.pullContainerDisk(`${reg.host}/vm/custom-path:v1`, 'IfNotPresent', { path: '/custom/none.img' }), /disk: \/custom\/none\.img not found in the image/);
  await assert.rejects(svc.pullContainerDisk(`${reg.host}/vm/custom-path:v1`, 'IfNotPresent', { path: '/../etc/shadow' }), /containerDisk\.path: path "\/\.\.\/etc\/shadow" may not contain "\.\."/);

  // A qcow2 whose backing file is a host file must never reach QEMU.
  const backed = join(tmp, `backed-${++n}.qcow2`);
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', '/etc/hostname', backed, '1M']);
  await pushImage('vm/backed', 'v1', [diskLayer(await readFile(backed))]);
  await assert.rejects(service().pullContainerDisk(`${reg.host}/vm/backed:v1`), /disk: \/disk\/disk\.qcow2: has a backing file \(\/etc\/hostname\); a containerDisk must be self-contained/);
  await rm(backed);
});

test('kernelBoot: kernel and initrd by path, through symlinks', async () => {
  const kernel = Buffer.from('pretend bzImage '.repeat(1000));
  const initrd = Buffer.from('pretend initramfs');
  await pushImage('vm/kernel', 'v1', [
    [{ path: 'boot/', type: 'dir' }, { path: 'boot/vmlinuz-6.1.0', data: kernel }, { path: 'boot/initrd.img-6.1.0', data: initrd }, { path: 'etc/os-release', data: 'x' }],
    [{ path: 'boot/vmlinuz', type: 'symlink', linkname: 'vmlinuz-6.1.0' }, { path: 'initrd.img', type: 'symlink', linkname: '/boot/initrd.img-6.1.0' }],
  ]);
  const svc = service();
  const k = await svc.pullKernelBoot(`${reg.host}/vm/kernel:v1`, undefined, '/boot/vmlinuz', '/initrd.img');
  assert.deepEqual(await readFile(k.kernel!), kernel);
  assert.deepEqual(await readFile(k.initrd!), initrd);
  assert.ok(k.kernel!.endsWith('/boot/vmlinuz-6.1.0'));
  const only = await svc.pullKernelBoot(`${reg.host}/vm/kernel:v1`, 'Never', '/boot/vmlinuz');
  assert.equal(only.kernel, k.kernel);
  assert.equal(only.initrd, undefined);
  const [img] = await svc.list();
  assert.deepEqual(img!.files.map((f) => f.path).sort(), ['boot/initrd.img-6.1.0', 'boot/vmlinuz-6.1.0'], 'only what was asked for');
  await assert.rejects(svc.pullKernelBoot(`${reg.host}/vm/kernel:v1`, undefined), /kernelPath or initrdPath must be set/);
  await assert.rejects(svc.pullKernelBoot(`${reg.host}/vm/kernel:v1`, 'Never', '/boot/none'), /kernelBoot: \/boot\/none not found in the image/);
});

test('manifests are verified: against the digest asked for, and against the digest the registry claims', async () => {
  const built = await pushImage('vm/tamper', 'v1', [diskLayer()]);
  // Same JSON, other bytes: a proxy (or a broken mirror) re-serialising it.
  const proxy = await startProxy(reg.url, { rewriteManifest: (b) => Buffer.from(JSON.stringify(JSON.parse(b.toString()), null, 2)) });
  try {
    const svc = service({ mirrors: { [reg.host]: { endpoints: [proxy.url] } } });
    await assert.rejects(svc.pullContainerDisk(`${reg.host}/vm/tamper@${built.digest}`),
      new RegExp(`manifest ${built.digest.slice(0, 19)}: digest mismatch: the manifest served hashes to sha256:[0-9a-f]{64} \\(from `));
    await assert.rejects(svc.pullContainerDisk(`${reg.host}/vm/tamper:v1`),
      new RegExp(`manifest v1: digest mismatch: the registry says ${built.digest} but the manifest hashes to sha256:[0-9a-f]{64}`));
    assert.equal(proxy.count(/\/blobs\//), 0, 'nothing fetched on the strength of a bad manifest');
  } finally {
    await proxy.stop();
  }
});

test('a blob download that stalls is abandoned after the idle timeout', async () => {
  await pushImage('vm/stall', 'v1', [diskLayer()]);
  const proxy = await startProxy(reg.url, { stallBlobs: true });
  try {
    const stateDir = join(tmp, `state-${++n}`);
    const svc = new ImageService({ stateDir, mirrors: { [reg.host]: { endpoints: [proxy.url] } }, mirrorsOnly: true, idleTimeoutMs: 300 });
    const t0 = Date.now();
    await assert.rejects(svc.pullContainerDisk(`${reg.host}/vm/stall:v1`), /layer sha256:[0-9a-f]{12}: no data for 300 ms \(from http/);
    assert.ok(Date.now() - t0 < 3000, `${Date.now() - t0} ms`);
    assert.deepEqual(await files(join(stateDir, 'tmp')), [], 'the partial download is gone');
  } finally {
    await proxy.stop();
  }
});

test('Basic auth, when the registry asks for it', async () => {
  await pushImage('vm/basic', 'v1', [diskLayer()]);
  const proxy = await startProxy(reg.url, { basicAuth: { username: 'bob', password: 'builder' } });
  try {
    const host = new URL(proxy.url).host;
    const none = service({ mirrors: { [reg.host]: { endpoints: [proxy.url] } } });
    await assert.rejects(none.pullContainerDisk(`${reg.host}/vm/basic:v1`), /manifest v1: unauthorized: registry asks for Basic credentials and none are configured/);
    const wrong = service({ mirrors: { [reg.host]: { endpoints: [proxy.url] } }, credentials: { [host]: { username: 'bob', password: 'x' } } });
    await assert.rejects(wrong.pullContainerDisk(`${reg.host}/vm/basic:v1`), /manifest v1: unauthorized: the registry refused the credentials it asked for: authentication required \(401\)/);
    const right = service({ mirrors: { [reg.host]: { endpoints: [proxy.url] } }, credentials: { [host]: { username: 'bob', password: 'builder' } } });
    const r = await right.pullContainerDisk(`${reg.host}/vm/basic:v1`);
    assert.deepEqual(await readFile(r.diskPath), qcow2);
    // After the first 401 the credentials go with every request.
    assert.equal(proxy.count(/\/blobs\//), 2);
  } finally {
    await proxy.stop();
  }
});

test('GET /v2/ ping tells a registry from something else', async () => {
  const client = new RegistryClient({ mirrors: { [reg.host]: { endpoints: [reg.url] } }, mirrorsOnly: true });
  const [host] = registryHosts(reg.host, { [reg.host]: { endpoints: [reg.url] } }, true);
  assert.deepEqual(await client.ping(host!), { status: 200, authenticate: null });
  // A web server that is not a registry.
  const web = http.createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>'));
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
    const [notRegistry] = registryHosts('x.example', { 'x.example': { endpoints: [url] } }, true);
    await assert.rejects(client.ping(notRegistry!), new RegExp(`${url} is not a registry: GET /v2/ answered 404`));
  } finally {
    await new Promise((r) => web.close(r));
  }
});

test('the store survives a handler restart: references, files and leases', async () => {
  await pushImage('vm/restart', 'v1', [diskLayer()]);
  const stateDir = join(tmp, `state-${++n}`);
  const opts = { stateDir, mirrors: { [reg.host]: { endpoints: [reg.url] } }, mirrorsOnly: true };
  const first = new ImageService(opts);
  const a = await first.pullContainerDisk(`${reg.host}/vm/restart:v1`, undefined, { holder: 'vmi-1' });
  await writeFile(join(stateDir, 'tmp', 'leftover-from-a-crash'), 'x');

  const second = new ImageService(opts);
  await second.init();
  assert.deepEqual(await files(join(stateDir, 'tmp')), [], 'tmp/ is cleared on start');
  const [img] = await second.list();
  assert.deepEqual(img!.holders, ['vmi-1']);
  assert.deepEqual((await second.gc()).images, [], 'the lease survived');
  const again = await second.pullContainerDisk(`${reg.host}/vm/restart:v1`, 'Never');
  assert.equal(again.diskPath, a.diskPath);
  const index = JSON.parse(await readFile(join(stateDir, 'index.json'), 'utf8')) as { references: Record<string, string> };
  assert.deepEqual(index.references, { [`${reg.host}/vm/restart:v1`]: a.digest });

  await writeFile(join(stateDir, 'index.json'), '{"version":1,"refe');
  const broken = new ImageService(opts);
  await assert.rejects(broken.init(), /image index .*index\.json is not valid JSON; move it aside/);
});
