// Shared fixtures for the vmi-*.test.ts files: small valid objects to break one
// field at a time, and an assertion on the exact field errors of a rejection.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidSpecError, type FieldError } from '../../proto/errors.js';
import { validate, type ValidateOptions } from '../../proto/vmi/index.js';

/** KubeVirt's getting-started VM as examples/vm-cirros.yaml holds it, verbatim: note the missing apiVersion line. */
export const GETTING_STARTED_VM = readFileSync(join(import.meta.dirname, '..', '..', '..', 'examples', 'vm-cirros.yaml'), 'utf8');

// Fixtures are broken on purpose in every way: loosely typed by design.
export type Json = Record<string, any>;

export function vmiSpec(): Json {
  return {
    domain: {
      devices: { disks: [{ name: 'containerdisk', disk: { bus: 'virtio' } }] },
      resources: { requests: { memory: '64M' } },
    },
    volumes: [{ name: 'containerdisk', containerDisk: { image: 'quay.io/kubevirt/cirros-container-disk-demo' } }],
  };
}

export function vmi(): Json {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name: 'testvmi', namespace: 'default', labels: { app: 'test' } },
    spec: vmiSpec(),
  };
}

export function vm(): Json {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'testvm', namespace: 'default' },
    spec: { runStrategy: 'Always', template: { metadata: { labels: { app: 'test' } }, spec: vmiSpec() } },
  };
}

/** The spec of a VMI, or the template spec of a VM, for rules that apply to both. */
export function specOf(o: Json): Json {
  return o.kind === 'VirtualMachine' ? o.spec.template.spec : o.spec;
}

/** Validation must refuse `o` with exactly these field errors, in any order. */
export function assertRejected(o: unknown, expected: FieldError[], opts: Partial<ValidateOptions> = {}): InvalidSpecError {
  let err: unknown;
  try {
    validate(o, opts);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof InvalidSpecError, `expected InvalidSpecError, got ${err === undefined ? 'acceptance' : String(err)}`);
  const sort = (a: FieldError[]) => [...a].sort((x, y) => (x.path + x.message).localeCompare(y.path + y.message));
  assert.deepEqual(sort(err.fields), sort(expected));
  assert.equal(err.code, 'VN_INVALID_SPEC');
  return err;
}
