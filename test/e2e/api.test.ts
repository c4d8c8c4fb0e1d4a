// The handler's API surface without booting a guest: the version handshake, the
// root-only socket, grpc.health.v1, server reflection, and mutual TLS on TCP.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { TestHandler } from './harness.js';
import { connectHandler } from '../../handler/cli/client.js';
import { handlerPackage, unary } from '../../proto/rpc.js';

let h: TestHandler;
let pki: string;
let port: number;

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

/** A CA, a server certificate for 127.0.0.1, and two client certificates (one from another CA). */
function makePki(dir: string): void {
  const ca = (name: string): void => {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`)]);
  };
  const leaf = (name: string, caName: string, ext: string): void => {
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.csr`)]);
    const extFile = join(dir, `${name}.ext`);
    execFileSync('bash', ['-c', `printf '%s\\n' '${ext}' > ${extFile}`]);
    openssl(['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, `${caName}.crt`), '-CAkey', join(dir, `${caName}.key`), '-CAcreateserial', '-days', '1', '-extfile', extFile, '-out', join(dir, `${name}.crt`)]);
  };
  ca('ca');
  ca('other-ca');
  leaf('server', 'ca', 'subjectAltName=IP:127.0.0.1');
  leaf('controller', 'ca', 'extendedKeyUsage=clientAuth');
  leaf('intruder', 'other-ca', 'extendedKeyUsage=clientAuth');
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return p;
}

before(async () => {
  pki = mkdtempSync(join(tmpdir(), 'vn-pki-'));
  makePki(pki);
  port = await freePort();
  h = new TestHandler({
    registryHost: '127.0.0.1:9',
    extraArgs: ['--listen-tcp', `127.0.0.1:${port}`, '--tls-cert', join(pki, 'server.crt'), '--tls-key', join(pki, 'server.key'), '--tls-ca', join(pki, 'ca.crt')],
  });
  await h.start();
});

after(async () => {
  await h?.destroy();
  rmSync(pki, { recursive: true, force: true });
});

test('the CLI socket is root-only', () => {
  assert.equal(statSync(h.socket).mode & 0o777, 0o600);
});

test('calls without the negotiated protocol header are refused; a client with no common version is refused', async () => {
  const pkg = handlerPackage();
  const node = new pkg.Node(`unix:${h.socket}`, grpc.credentials.createInsecure());
  await assert.rejects(
    unary(node.List, node, { kind: 'vm', namespace: '' }, new grpc.Metadata()),
    (e: grpc.ServiceError) => e.code === grpc.status.FAILED_PRECONDITION && /Negotiate/.test(e.details),
  );
  node.close();
  const info = new pkg.Info(`unix:${h.socket}`, grpc.credentials.createInsecure());
  await assert.rejects(unary(info.Negotiate, info, { supportedVersions: [99], client: 'future' }, new grpc.Metadata()), (e: grpc.ServiceError) => e.code === grpc.status.FAILED_PRECONDITION && /no common protocol version/.test(e.details));
  const ok = await unary<{ supportedVersions: number[]; client: string }, { version: number }>(info.Negotiate as never, info, { supportedVersions: [1, 99], client: 'newer' }, new grpc.Metadata());
  assert.equal(ok.version, 1, 'a newer client gets the highest version both speak');
  info.close();
});

test('grpc.health.v1 answers SERVING and reflection lists the services', async () => {
  const healthProto = join(process.cwd(), 'node_modules', 'grpc-health-check', 'proto', 'health', 'v1', 'health.proto');
  const health = grpc.loadPackageDefinition(protoLoader.loadSync(healthProto, { enums: String })) as any;
  const hc = new health.grpc.health.v1.Health(`unix:${h.socket}`, grpc.credentials.createInsecure());
  const res = await new Promise<any>((resolve, reject) => hc.Check({ service: 'virtnode.handler.v1.Node' }, (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r))));
  assert.equal(res.status, 'SERVING');
  hc.close();

  const reflProto = join(process.cwd(), 'node_modules', '@grpc', 'reflection', 'build', 'proto', 'grpc', 'reflection', 'v1', 'reflection.proto');
  const refl = grpc.loadPackageDefinition(protoLoader.loadSync(reflProto, { keepCase: true })) as any;
  const rc = new refl.grpc.reflection.v1.ServerReflection(`unix:${h.socket}`, grpc.credentials.createInsecure());
  const call = rc.ServerReflectionInfo();
  const services = await new Promise<string[]>((resolve, reject) => {
    call.on('data', (m: any) => {
      resolve(m.list_services_response.service.map((s: { name: string }) => s.name));
      call.end();
    });
    call.on('error', reject);
    call.write({ list_services: '' });
  });
  assert.ok(services.includes('virtnode.handler.v1.Node'), services.join(','));
  assert.ok(services.includes('virtnode.handler.v1.Info'));
  rc.close();
});

test('TCP is mutual TLS: a controller certificate from the CA works, others are refused', async () => {
  const creds = (client: string | undefined): grpc.ChannelCredentials =>
    client
      ? grpc.credentials.createSsl(readFileSync(join(pki, 'ca.crt')), readFileSync(join(pki, `${client}.key`)), readFileSync(join(pki, `${client}.crt`)))
      : grpc.credentials.createSsl(readFileSync(join(pki, 'ca.crt')));
  const good = await connectHandler({ address: `127.0.0.1:${port}`, credentials: creds('controller') });
  const list = await good.call<unknown, { objects: unknown[] }>('List', { kind: 'vmi', namespace: '' });
  assert.deepEqual(list.objects, []);
  good.close();
  await assert.rejects(connectHandler({ address: `127.0.0.1:${port}`, credentials: creds(undefined), timeoutMs: 3000 }), /cannot reach the handler/);
  await assert.rejects(connectHandler({ address: `127.0.0.1:${port}`, credentials: creds('intruder'), timeoutMs: 3000 }), /cannot reach the handler/);
});

test('a Watch from the start lists only the kinds and the name it asks for', async () => {
  for (const name of ['snap-a', 'snap-b']) {
    const r = await h.cli(['apply', '-f', '-'], `apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: ${name}\nspec:\n  runStrategy: Halted\n  template:\n    spec:\n      domain:\n        devices: {}\n        resources:\n          requests:\n            memory: 64M\n`);
    assert.equal(r.code, 0, r.stderr);
  }
  const snapshot = (req: { kinds: string[]; name?: string }): Promise<{ kind: string; name: string }[]> =>
    new Promise((resolve, reject) => {
      const out: { kind: string; name: string }[] = [];
      const s = h.client.node.Watch({ sinceSeq: 0, ...req }, h.client.md());
      s.on('data', (e: { type: string; kind: string; json: string }) => {
        if (e.type === 'SNAPSHOT_END') {
          s.cancel();
          resolve(out);
        } else if (e.type === 'ADDED') out.push({ kind: e.kind, name: (JSON.parse(e.json) as { metadata: { name: string } }).metadata.name });
      });
      s.on('error', (e: grpc.ServiceError) => (e.code === grpc.status.CANCELLED ? undefined : reject(e)));
    });
  assert.deepEqual(await snapshot({ kinds: ['vmi'] }), [], 'Halted VMs have no VMI, and VMs are not asked for');
  assert.deepEqual(await snapshot({ kinds: ['vm'] }), [{ kind: 'VirtualMachine', name: 'snap-a' }, { kind: 'VirtualMachine', name: 'snap-b' }]);
  assert.deepEqual(await snapshot({ kinds: [], name: 'snap-b' }), [{ kind: 'VirtualMachine', name: 'snap-b' }]);
});

test('a Watch from a sequence number the handler has not reached is refused, not left waiting', async () => {
  const err = await new Promise<grpc.ServiceError>((resolve, reject) => {
    const s = h.client.node.Watch({ sinceSeq: 1_000_000_000_000, kinds: [] }, h.client.md());
    const t = setTimeout(() => {
      s.cancel();
      reject(new Error('the Watch stayed open'));
    }, 5000);
    s.on('data', () => undefined);
    s.on('error', (e: grpc.ServiceError) => {
      clearTimeout(t);
      resolve(e);
    });
  });
  assert.equal(err.code, grpc.status.OUT_OF_RANGE);
  assert.match(err.details, /too large resource version: sequence 1000000000000/);
});

test('the CLI writes everything into a pipe before it exits (an object over 64 KiB)', async () => {
  // 150 KiB of annotations: within Kubernetes' 256 KiB for all of them.
  const note = 'x'.repeat(50 * 1024);
  const vm = `apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: big-vm\n  annotations:\n    a: ${note}\n    b: ${note}\n    c: ${note}\nspec:\n  runStrategy: Halted\n  template:\n    spec:\n      domain:\n        devices: {}\n        resources:\n          requests:\n            memory: 64M\n`;
  assert.equal((await h.cli(['apply', '-f', '-'], vm)).code, 0);
  const r = await h.cli(['get', 'vm', 'big-vm', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.length > 150 * 1024, `only ${r.stdout.length} bytes came through the pipe`);
  assert.equal((JSON.parse(r.stdout) as { metadata: { annotations: Record<string, string> } }).metadata.annotations.c, note);
  assert.equal((await h.cli(['delete', 'vm', 'big-vm', '--wait'])).code, 0);
});

test('apply --wait on a VMI that fails prints one clear line and exits 1', async () => {
  const vmi = `apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n  name: no-image\nspec:\n  domain:\n    devices:\n      disks:\n      - name: d\n        disk:\n          bus: virtio\n    resources:\n      requests:\n        memory: 64M\n  volumes:\n  - name: d\n    containerDisk:\n      image: quay.io/virtnode/no-such-image:v1\n`;
  const r = await h.cli(['apply', '-f', '-', '--wait', '--timeout', '120'], vmi);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: no-image failed: ErrImagePull\n$/m);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal((await h.cli(['delete', 'vmi', 'no-image', '--wait'])).code, 0);
});

test('hostile Applies are refused with an answer that arrives, and the handler keeps answering meanwhile', async () => {
  const base = (meta: string, spec = ''): string =>
    `apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n  name: hostile\n${meta}spec:\n  domain:\n    devices:\n${spec}    resources:\n      requests:\n        memory: 64M\n`;
  const labels = Array.from({ length: 100_000 }, (_, i) => `    k${i}: v${i}`).join('\n');
  const cases: [string, string, RegExp][] = [
    ['100,000 labels and an unknown field', base(`  labels:\n${labels}\n  bogus: 1\n`), /metadata\.bogus: unknown field/],
    ['a label value of 200 KB', base(`  labels:\n    a: ${'x'.repeat(200_000)}\n`), /metadata\.labels: Invalid value: "x+…/],
    ['200 KB of random bytes', Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251)).toString('latin1'), /error: /],
    ['5000 pod interfaces', base('', `      interfaces:\n${Array.from({ length: 5000 }, (_, i) => `      - name: n${i}\n        masquerade: {}\n`).join('')}`), /… and [\d,]+ more/],
    ['200,000 empty documents', '---\n'.repeat(200_000), /manifest: no objects found/],
  ];
  for (const [what, manifest, expected] of cases) {
    // Get calls, one after another, for as long as the Apply is judged.
    const latencies: number[] = [];
    let applying = true;
    const getter = (async () => {
      while (applying) {
        const t0 = performance.now();
        await h.client.call('List', { kind: 'vmi', namespace: '' });
        latencies.push(performance.now() - t0);
      }
    })();
    const r = await h.cli(['apply', '-f', '-'], manifest);
    applying = false;
    await getter;
    assert.equal(r.code, 1, `${what}: the CLI must fail: ${r.stderr.slice(0, 300)}`);
    assert.match(r.stderr, expected, what);
    assert.ok(r.stderr.length < 4096, `${what}: ${r.stderr.length} characters of error`);
    const sorted = latencies.sort((a, b) => a - b);
    const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
    console.log(`${what}: ${latencies.length} List calls meanwhile, p99 ${p99.toFixed(1)} ms, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms`);
    assert.ok(p99 < 100, `${what}: List p99 ${p99.toFixed(0)} ms while the Apply was judged`);
  }
  assert.equal(await h.getVMI('hostile'), undefined, 'nothing was created');
});
