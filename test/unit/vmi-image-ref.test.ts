import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseImageReference } from '../../proto/vmi/index.js';

const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

test('image references are normalised as the kubelet does', () => {
  const cases: [string, string, string, string | undefined][] = [
    ['busybox', 'docker.io', 'library/busybox', 'docker.io/library/busybox:latest'],
    ['kubevirt/cirros:v1', 'docker.io', 'kubevirt/cirros', 'docker.io/kubevirt/cirros:v1'],
    ['quay.io/kubevirt/cirros-container-disk-demo', 'quay.io', 'kubevirt/cirros-container-disk-demo', 'quay.io/kubevirt/cirros-container-disk-demo:latest'],
    ['registry:5000/kubevirt/cirros-container-disk-demo:devel', 'registry:5000', 'kubevirt/cirros-container-disk-demo', 'registry:5000/kubevirt/cirros-container-disk-demo:devel'],
    ['localhost/vm/root', 'localhost', 'vm/root', 'localhost/vm/root:latest'],
    ['127.0.0.1:5000/a__b/c-d.e', '127.0.0.1:5000', 'a__b/c-d.e', '127.0.0.1:5000/a__b/c-d.e:latest'],
    [`quay.io/x/y@${DIGEST}`, 'quay.io', 'x/y', `quay.io/x/y@${DIGEST}`],
    [`quay.io/x/y:t@${DIGEST}`, 'quay.io', 'x/y', `quay.io/x/y:t@${DIGEST}`],
    ['[::1]:5000/x', '[::1]:5000', 'x', '[::1]:5000/x:latest'],
  ];
  for (const [ref, registry, repository, normalized] of cases) {
    const r = parseImageReference(ref);
    assert.ok(typeof r !== 'string', `${ref}: ${String(r)}`);
    assert.equal(r.registry, registry, ref);
    assert.equal(r.repository, repository, ref);
    assert.equal(r.normalized, normalized, ref);
  }
});

test('invalid image references say why', () => {
  const cases: [string, string][] = [
    ['', 'empty'],
    ['Busybox', 'repository name must be lowercase'],
    ['quay.io/Kubevirt/x', 'repository name must be lowercase'],
    ['quay.io/x/y:', 'malformed tag ""'],
    ['quay.io/x/y:-bad', 'malformed tag "-bad"'],
    [`quay.io/x/y:${'t'.repeat(129)}`, `malformed tag "${'t'.repeat(129)}"`],
    ['quay.io/x/y@sha256:abc', 'malformed digest "sha256:abc" (want sha256:<64 lowercase hex>)'],
    [`quay.io/x/y@sha512:${'a'.repeat(128)}`, `unsupported digest algorithm in "sha512:${'a'.repeat(128)}" (only sha256)`],
    ['quay.io//y', 'empty path component'],
    ['quay.io/x/y/', 'empty path component'],
    ['-quay.io/x', 'malformed registry host "-quay.io"'],
    ['quay.io/x y', 'malformed path component "x y"'],
    ['a/'.repeat(128) + 'a', 'name longer than 255 characters'],
  ];
  for (const [ref, why] of cases) assert.equal(parseImageReference(ref), why, ref);
});
