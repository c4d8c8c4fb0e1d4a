// Bearer token auth against a real docker-registry that trusts a token server
// run here (RS256 JWTs signed with a key whose self-signed cert is the
// registry's rootcertbundle).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { ImageService } from '../../handler/images/index.js';
import {
  freePort, makeSigningKey, makeTmp, push, qcow2Bytes, startProxy, startRegistry, startTokenServer, writeOciLayout,
  type TestRegistry, type TokenServer,
} from './helpers/registry.js';

const SERVICE = 'virtnode-test-registry';
const ISSUER = 'virtnode-test-issuer';

let tmp: string;
let reg: TestRegistry;
let tokens: TokenServer;
let qcow2: Buffer;
let n = 0;

before(async () => {
  tmp = await makeTmp('vn-images-auth-');
  const key = await makeSigningKey(tmp);
  tokens = await startTokenServer(key, { issuer: ISSUER, service: SERVICE, users: { alice: 'wonderland' } });
  reg = await startRegistry(join(tmp, 'registry'), { realm: tokens.realm, service: SERVICE, issuer: ISSUER, rootCertBundle: key.certPath });
  qcow2 = await qcow2Bytes(tmp);
  for (const tag of ['v1', 'v2']) {
    const dir = join(tmp, `layout-${tag}`);
    await writeOciLayout(dir, tag, { layers: [[{ path: 'disk/', type: 'dir' }, { path: `disk/${tag}.qcow2`, data: qcow2 }]] });
    await push(dir, tag, reg, 'private/disk', { creds: 'alice:wonderland' });
  }
});

after(async () => {
  await reg?.stop();
  await tokens?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function service(credentials?: Record<string, { username: string; password: string }>): ImageService {
  return new ImageService({
    stateDir: join(tmp, `state-${++n}`),
    mirrors: { [reg.host]: { endpoints: [reg.url] } },
    mirrorsOnly: true,
    ...(credentials ? { credentials } : {}),
  });
}

test('the registry really wants a token', async () => {
  const res = await fetch(`${reg.url}/v2/private/disk/manifests/v1`);
  await res.body?.cancel();
  assert.equal(res.status, 401);
  assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/token",service="virtnode-test-registry",scope="repository:private\/disk:pull"/);
});

test('a pull gets a token, reuses it for every blob and the next image, and succeeds', async () => {
  const svc = service({ [reg.host]: { username: 'alice', password: 'wonderland' } });
  const before = tokens.requests;
  const r = await svc.pullContainerDisk(`${reg.host}/private/disk:v1`);
  assert.deepEqual(await readFile(r.diskPath), qcow2);
  assert.equal(tokens.requests - before, 1, 'one token for manifest, config and layer');
  const r2 = await svc.pullContainerDisk(`${reg.host}/private/disk:v2`);
  assert.ok(r2.diskPath.endsWith('/disk/v2.qcow2'));
  assert.equal(tokens.requests - before, 1, 'the cached token still serves');
});

test('bad or missing credentials fail clearly', async () => {
  const image = `${reg.host}/private/disk:v1`;
  const bad = service({ [reg.host]: { username: 'alice', password: 'looking-glass' } });
  await assert.rejects(bad.pullContainerDisk(image), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'VN_IMAGE');
    assert.equal(e.message, `pull ${image}: manifest v1: unauthorized: token request to ${tokens.realm} refused: 401 Unauthorized (check the credentials of user "alice") (from ${reg.url})`);
    return true;
  });
  const anonymous = service();
  await assert.rejects(anonymous.pullContainerDisk(image), /manifest v1: unauthorized: token request to .* refused: 401 Unauthorized \(no credentials configured\)/);
  assert.deepEqual(await anonymous.list(), []);
});

test('credentials for the registry are not sent to a mirror of it', async () => {
  // The proxy stands in for a mirror of "registry.example"; the credentials are written for the registry only.
  const proxy = await startProxy(reg.url);
  try {
    const svc = new ImageService({
      stateDir: join(tmp, `state-${++n}`),
      mirrors: { 'registry.example': { endpoints: [proxy.url] } },
      mirrorsOnly: true,
      credentials: { 'registry.example': { username: 'alice', password: 'wonderland' } },
    });
    await assert.rejects(svc.pullContainerDisk('registry.example/private/disk:v1'), /\(no credentials configured\)/);
    const withMirrorCreds = new ImageService({
      stateDir: join(tmp, `state-${++n}`),
      mirrors: { 'registry.example': { endpoints: [proxy.url] } },
      mirrorsOnly: true,
      credentials: { [new URL(proxy.url).host]: { username: 'alice', password: 'wonderland' } },
    });
    const r = await withMirrorCreds.pullContainerDisk('registry.example/private/disk:v1');
    assert.deepEqual(await readFile(r.diskPath), qcow2);
  } finally {
    await proxy.stop();
  }
});

test('a token server that does not answer fails within the request timeout', async () => {
  const port = await freePort();
  // Accepts connections, never answers: the realm of a registry whose token service hangs.
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((s) => sockets.add(s));
  await new Promise<void>((r) => silent.listen(port, '127.0.0.1', r));
  const fakeRegistry = http.createServer((_req, res) => {
    res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="x"` }).end();
  });
  await new Promise<void>((r) => fakeRegistry.listen(0, '127.0.0.1', r));
  const fakePort = (fakeRegistry.address() as net.AddressInfo).port;
  try {
    const svc = new ImageService({
      stateDir: join(tmp, `state-${++n}`),
      mirrors: { 'slow.example': { endpoints: [`http://127.0.0.1:${fakePort}`] } },
      mirrorsOnly: true,
      requestTimeoutMs: 300,
    });
    const t0 = Date.now();
    await assert.rejects(svc.pullContainerDisk('slow.example/x:v1'), /manifest v1: unauthorized: GET http:\/\/127\.0\.0\.1:\d+\/token: no response within 300 ms/);
    assert.ok(Date.now() - t0 < 3000);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
    await new Promise((r) => fakeRegistry.close(r));
  }
});
