import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseAccelerator } from '../../handler/accelerator.js';
import type { AcceleratorReport } from '../../proto/accelerator.js';
import { VirtnodeError } from '../../proto/errors.js';

const ok = { usable: true, reason: 'ok in 35 ms', durationMs: 35 };
const hung = { usable: false, reason: 'probe guest hung after 2000 ms under KVM at lock cmpxchg16b', durationMs: 2000 };
const broken = { usable: false, reason: 'QEMU exited with status 1 under TCG: no ROM', durationMs: 12 };

function report(kvm: typeof ok, tcg: typeof ok): AcceleratorReport {
  return { kvm, tcg };
}

test('working KVM is chosen whatever useEmulation says, and is not software emulation', () => {
  for (const allow of [false, true]) {
    for (const tcg of [ok, broken]) {
      assert.deepEqual(chooseAccelerator(report(ok, tcg), allow), { accelerator: 'kvm', softwareEmulation: false });
    }
  }
});

test('without working KVM, allowed emulation gives TCG marked as software emulation', () => {
  assert.deepEqual(chooseAccelerator(report(hung, ok), true), { accelerator: 'tcg', softwareEmulation: true });
});

test('without working KVM and without useEmulation: VN_UNSUPPORTED naming the KVM reason and the way out', () => {
  for (const tcg of [ok, broken]) {
    assert.throws(() => chooseAccelerator(report(hung, tcg), false), (e: unknown) => {
      assert.ok(e instanceof VirtnodeError);
      assert.equal(e.code, 'VN_UNSUPPORTED');
      assert.equal(e.message,
        `KVM is not usable on this node (${hung.reason}) and software emulation is not allowed (enable useEmulation)`);
      return true;
    });
  }
});

test('emulation allowed but TCG broken too: VN_UNSUPPORTED naming both reasons', () => {
  assert.throws(() => chooseAccelerator(report(hung, broken), true), (e: unknown) => {
    assert.ok(e instanceof VirtnodeError);
    assert.equal(e.code, 'VN_UNSUPPORTED');
    assert.match(e.message, /KVM is not usable on this node \(probe guest hung/);
    assert.ok(e.message.includes(broken.reason), e.message);
    return true;
  });
});
