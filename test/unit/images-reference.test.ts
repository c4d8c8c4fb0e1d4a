// Pure parts of the image code: reference parsing, auth challenges, manifest
// reading and platform choice, progress throttling, mirror config.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultPullPolicy, formatReference, parseReference } from '../../handler/images/reference.js';
import { parseChallenges, TokenCache } from '../../handler/images/auth.js';
import { parseManifest, selectPlatform, layerCompression } from '../../handler/images/manifest.js';
import { throttleProgress, type PullProgress } from '../../handler/images/progress.js';
import { registryHosts, validateMirrors } from '../../handler/images/hosts.js';
import { cleanEntryPath, cleanImagePath, ImageTree } from '../../handler/images/extract.js';
import { SharedExclusiveLock, SingleFlight } from '../../handler/images/sync.js';

const HEX = 'a'.repeat(64);

test('references parse the way docker does', () => {
  const cases: [string, string][] = [
    ['busybox', 'docker.io/library/busybox:latest'],
    ['library/busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['kubevirt/cirros', 'docker.io/kubevirt/cirros:latest'],
    ['index.docker.io/kubevirt/cirros:v1', 'docker.io/kubevirt/cirros:v1'],
    ['quay.io/kubevirt/cirros-container-disk-demo', 'quay.io/kubevirt/cirros-container-disk-demo:latest'],
    ['quay.io/kubevirt/cirros-container-disk-demo:v1.2.0', 'quay.io/kubevirt/cirros-container-disk-demo:v1.2.0'],
    [`quay.io/x/y@sha256:${HEX}`, `quay.io/x/y@sha256:${HEX}`],
    [`quay.io/x/y:v1@sha256:${HEX}`, `quay.io/x/y:v1@sha256:${HEX}`],
    ['registry:5000/x/y:t', 'registry:5000/x/y:t'],
    ['localhost/x', 'localhost/x:latest'],
    ['localhost:5000/a/b/c', 'localhost:5000/a/b/c:latest'],
    ['127.0.0.1:5000/vm/disk:1', '127.0.0.1:5000/vm/disk:1'],
    ['Registry/x', 'Registry/x:latest'], // a capital letter marks a registry host, as in distribution/reference
    ['my_repo/a__b/c-d--e.f', 'docker.io/my_repo/a__b/c-d--e.f:latest'],
  ];
  for (const [input, want] of cases) assert.equal(formatReference(parseReference(input)), want, input);
  const r = parseReference('registry:5000/x/y:t');
  assert.deepEqual(r, { registry: 'registry:5000', repository: 'x/y', tag: 't' });
  assert.equal(parseReference(`quay.io/x/y@sha256:${HEX}`).tag, undefined);
});

test('bad references are refused with a message naming them', () => {
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['quay.io/Kubevirt/cirros', /"quay\.io\/Kubevirt\/cirros".*must be lowercase/],
    ['quay.io/x/y:', /malformed tag ""/],
    ['quay.io/x/y:-bad', /malformed tag "-bad"/],
    ['quay.io/x/y@sha256:abc', /malformed digest/],
    [`quay.io/x/y@sha512:${HEX}`, /unsupported digest algorithm/],
    ['quay.io//y', /empty path component/],
    ['quay.io/x/y..z', /malformed path component "y\.\.z"/],
    ['quay.io:99999/x', /malformed registry host/],
    [' busybox', /whitespace/],
    [`quay.io/${'a'.repeat(260)}`, /longer than 255/],
  ];
  for (const [input, re] of bad) {
    assert.throws(() => parseReference(input), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'VN_INVALID_SPEC', input);
      assert.match(e.message, re, input);
      assert.ok(e.message.includes(JSON.stringify(input)), `message names ${input}: ${e.message}`);
      return true;
    });
  }
});

test('default pull policy is Always for :latest only, as Kubernetes does', () => {
  assert.equal(defaultPullPolicy(parseReference('busybox')), 'Always');
  assert.equal(defaultPullPolicy(parseReference('quay.io/x/y:latest')), 'Always');
  assert.equal(defaultPullPolicy(parseReference('quay.io/x/y:v1')), 'IfNotPresent');
  assert.equal(defaultPullPolicy(parseReference(`quay.io/x/y@sha256:${HEX}`)), 'IfNotPresent');
});

test('WWW-Authenticate challenges parse, commas inside quotes included', () => {
  const c = parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"');
  assert.deepEqual(c, [{ scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' } }]);
  const two = parseChallenges('Basic realm="x y", Bearer realm=https://t/token, service=s');
  assert.deepEqual(two, [{ scheme: 'basic', params: { realm: 'x y' } }, { scheme: 'bearer', params: { realm: 'https://t/token', service: 's' } }]);
  assert.deepEqual(parseChallenges('Bearer realm="a\\"b"'), [{ scheme: 'bearer', params: { realm: 'a"b' } }]);
  assert.deepEqual(parseChallenges(null), []);
});

test('tokens are cached per scope until shortly before expiry', async () => {
  let now = 1_000_000;
  const cache = new TokenCache(() => now);
  let fetched = 0;
  const fetchToken = async (url: URL) => {
    fetched++;
    assert.equal(url.searchParams.get('scope'), 'repository:x/y:pull');
    return { status: 200, statusText: 'OK', body: Buffer.from(JSON.stringify({ token: `t${fetched}`, expires_in: 60 })) };
  };
  const ch = parseChallenges('Bearer realm="http://127.0.0.1/token",service="s",scope="repository:x/y:pull"');
  assert.equal(await cache.authorize('http://r', 'x/y', ch, undefined, true, fetchToken), 'Bearer t1');
  assert.equal(cache.lookup('http://r', 'x/y'), 'Bearer t1');
  assert.equal(await cache.authorize('http://r', 'x/y', ch, undefined, true, fetchToken), 'Bearer t1');
  assert.equal(fetched, 1);
  now += 55_000; // inside the 10 s margin
  assert.equal(cache.lookup('http://r', 'x/y'), undefined);
  assert.equal(await cache.authorize('http://r', 'x/y', ch, undefined, true, fetchToken), 'Bearer t2');
  assert.equal(fetched, 2);
  // Credentials never go to a plain-http realm of an https registry.
  await assert.rejects(cache.authorize('https://r', 'x/z', parseChallenges('Bearer realm="http://evil/token"'), { username: 'u', password: 'p' }, false, fetchToken), /refusing to send credentials/);
  await assert.rejects(cache.authorize('https://r', 'x/z', parseChallenges('Bearer realm="https://t/token"'), undefined, false,
    async () => ({ status: 401, statusText: 'Unauthorized', body: Buffer.alloc(0) })), /refused: 401 Unauthorized \(no credentials configured\)/);
});

test('manifests: OCI and Docker media types, schema1 refused, platform chosen', () => {
  const d = (n: string) => `sha256:${n.repeat(64)}`;
  const idx = parseManifest(Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
    manifests: [
      { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: d('1'), size: 10, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: d('2'), size: 10, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d('3'), size: 10, platform: { os: 'unknown', architecture: 'unknown' } },
    ],
  })), null);
  assert.equal(idx.kind, 'index');
  if (idx.kind !== 'index') return;
  assert.equal(selectPlatform(idx.index, { os: 'linux', architecture: 'amd64' }).digest, d('2'));
  assert.equal(selectPlatform(idx.index, { os: 'linux', architecture: 'arm64' }).digest, d('1'));
  assert.throws(() => selectPlatform(idx.index, { os: 'linux', architecture: 's390x' }), /no manifest for linux\/s390x.*linux\/arm64\/v8, linux\/amd64, unknown\/unknown/);

  const m = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, config: { mediaType: 'x', digest: d('4'), size: 1 }, layers: [] })),
    'application/vnd.docker.distribution.manifest.v2+json; charset=utf-8');
  assert.equal(m.kind === 'manifest' && m.manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  assert.throws(() => parseManifest(Buffer.from('{"schemaVersion":1,"fsLayers":[]}'), null), /schema1/);
  assert.throws(() => parseManifest(Buffer.from('{"schemaVersion":2,"layers":[{"mediaType":"x","digest":"sha256:../../etc","size":1}],"config":{}}'), null), /not a sha256 digest|config/);
  assert.throws(() => parseManifest(Buffer.from('not json'), null), /not JSON/);
  assert.equal(layerCompression('application/vnd.docker.image.rootfs.diff.tar.gzip'), 'gzip');
  assert.equal(layerCompression('application/vnd.oci.image.layer.v1.tar'), 'none');
  assert.throws(() => layerCompression('application/vnd.oci.image.layer.v1.tar+zstd'), /zstd/);
});

test('progress is throttled to 5 events a second, keeping each layer\'s last', () => {
  let now = 0;
  const seen: PullProgress[] = [];
  const cb = throttleProgress((p) => seen.push(p), 200, () => now);
  for (let i = 1; i <= 100; i++) {
    now += 20; // 100 events over 2 s
    cb({ image: 'i', layer: 'l', bytesDone: i, bytesTotal: 100 });
  }
  assert.ok(seen.length <= 11 && seen.length >= 9, `${seen.length} events`);
  assert.equal(seen.at(-1)!.bytesDone, 100);
});

test('mirror endpoints: mirrors first, then upstream; http only where written', () => {
  const hosts = registryHosts('quay.io', { 'quay.io': { endpoints: ['http://127.0.0.1:5000', 'mirror.example:5443/prefix'] } });
  assert.deepEqual(hosts.map((h) => [h.api.href, h.mirror]), [
    ['http://127.0.0.1:5000/v2', true],
    ['https://mirror.example:5443/prefix/v2', true],
    ['https://quay.io/v2', false],
  ]);
  assert.deepEqual(registryHosts('docker.io').map((h) => h.api.href), ['https://registry-1.docker.io/v2']);
  assert.deepEqual(registryHosts('docker.io', { 'index.docker.io': { endpoints: ['http://hub-mirror:5000'] } }).map((h) => h.api.href),
    ['http://hub-mirror:5000/v2', 'https://registry-1.docker.io/v2']);
  assert.deepEqual(registryHosts('127.0.0.1:5000').map((h) => h.api.href), ['https://127.0.0.1:5000/v2']);
  assert.throws(() => registryHosts('quay.io', {}, true), /mirrorsOnly is set and no mirror/);
  assert.throws(() => validateMirrors({ 'quay.io': { endpoints: ['ftp://x'] } }), /mirrors\["quay\.io"\]: endpoint "ftp:\/\/x": scheme ftp: is not http or https/);
  assert.throws(() => validateMirrors({ 'quay.io': { endpoints: ['http://u:p@x'] } }), /credentials belong/);
});

test('archive paths: traversal and absolute names refused, links resolved inside the image', () => {
  assert.equal(cleanEntryPath('./disk/disk.img'), 'disk/disk.img');
  assert.equal(cleanEntryPath('disk//x/'), 'disk/x');
  assert.equal(cleanEntryPath('./'), null);
  assert.throws(() => cleanEntryPath('../evil'), /path traversal/);
  assert.throws(() => cleanEntryPath('disk/../../evil'), /path traversal/);
  assert.throws(() => cleanEntryPath('/etc/passwd'), /absolute path/);
  assert.equal(cleanImagePath('/boot/vmlinuz'), 'boot/vmlinuz');
  assert.throws(() => cleanImagePath('/boot/../etc/shadow'), /may not contain/);

  const t = new ImageTree('/nonexistent');
  t.nodes.set('boot/vmlinuz', { kind: 'symlink', layer: 0, target: 'vmlinuz-6.1' });
  t.nodes.set('vmlinuz', { kind: 'symlink', layer: 0, target: '/boot/vmlinuz' });
  t.nodes.set('d', { kind: 'symlink', layer: 0, target: 'data/disks' });
  t.nodes.set('data/disks/q', { kind: 'symlink', layer: 0, target: '.' });
  t.nodes.set('h', { kind: 'hardlink', layer: 0, target: 'boot/vmlinuz-6.1' });
  t.nodes.set('loop', { kind: 'symlink', layer: 0, target: 'loop' });
  assert.equal(t.resolve('vmlinuz'), 'boot/vmlinuz-6.1');
  assert.equal(t.resolve('d/x.img'), 'data/disks/x.img');
  assert.equal(t.resolve('h'), 'boot/vmlinuz-6.1');
  t.nodes.set('data/disks/up', { kind: 'symlink', layer: 0, target: '../..' });
  assert.equal(t.resolve('d/up/etc'), 'etc');
  assert.equal(t.resolve('d/q/q/x'), 'data/disks/x');
  // applyLayer refuses such a link when it reads it; resolve() refuses it again.
  t.nodes.set('data/disks/e', { kind: 'symlink', layer: 0, target: '../../..' });
  assert.throws(() => t.resolve('d/e'), /escapes the image root/);
  assert.throws(() => t.resolve('loop'), /too many levels/);
});

test('single flight shares one run; gc waits for pulls and pulls wait for gc', async () => {
  const sf = new SingleFlight<number>();
  let runs = 0;
  const job = async () => {
    runs++;
    await new Promise((r) => setTimeout(r, 20));
    return 42;
  };
  assert.deepEqual(await Promise.all([sf.run('k', job), sf.run('k', job), sf.run('other', job)]), [42, 42, 42]);
  assert.equal(runs, 2);

  const lock = new SharedExclusiveLock();
  const order: string[] = [];
  const pull = (n: string, ms: number) => lock.withShared(async () => {
    order.push(`${n}+`);
    await new Promise((r) => setTimeout(r, ms));
    order.push(`${n}-`);
  });
  const p1 = pull('a', 30);
  const gc = lock.withExclusive(async () => {
    order.push('gc+');
    await new Promise((r) => setTimeout(r, 10));
    order.push('gc-');
  });
  const p2 = pull('b', 5); // arrives while gc waits: goes after it
  await Promise.all([p1, gc, p2]);
  assert.deepEqual(order, ['a+', 'a-', 'gc+', 'gc-', 'b+', 'b-']);
});
