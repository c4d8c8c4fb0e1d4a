// CPU model and features, clock and chassis on a real guest: the guest's
// /proc/cpuinfo shows the named model with the features the policies turned on and
// off, its clock starts at the time zone's wall time, the HPET is gone from its
// clocksources, and DMI shows the chassis. On this TCG node, what only KVM provides
// is refused at Apply by path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO_IMAGE, TestHandler, sleep, useTestHandler } from './harness.js';

let h: TestHandler;
useTestHandler((x) => (h = x));

function vmi(name: string, domain: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name },
    spec: {
      terminationGracePeriodSeconds: 0,
      domain: { ...domain, devices: { disks: [{ name: 'containerdisk', disk: { bus: 'virtio' } }] }, resources: { requests: { memory: '64M' } } },
      volumes: [{ name: 'containerdisk', containerDisk: { image: DEMO_IMAGE } }],
    },
  });
}

/** The node's accelerator once the probe has answered (Apply judges CPU features only then). */
async function accelerator(): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const r = await h.cli(['node', '-o', 'json']);
    const chosen = (JSON.parse(r.stdout) as { accelerator: { chosen: string } }).accelerator.chosen;
    if (chosen !== 'none') return chosen;
    await sleep(100);
  }
  throw new Error('the accelerator probe did not answer');
}

test('a named CPU model with features, a time zone clock, no HPET and a chassis reach the guest', async () => {
  const accel = await accelerator();
  const KOLKATA = 5.5 * 3600;
  const r = await h.cli(['apply', '-f', '-'], vmi('cc', {
    cpu: { model: 'Westmere', features: [{ name: 'avx2', policy: 'require' }, { name: 'sse4.2', policy: 'disable' }, { name: 'lahf_lm', policy: 'optional' }] },
    clock: { timezone: 'Asia/Kolkata', timer: { hpet: { present: false }, rtc: { tickPolicy: 'catchup' } } },
    chassis: { manufacturer: 'virtnode-test', asset: 'tag-7' },
  }));
  assert.equal(r.code, 0, r.stderr);
  await h.waitPhase('cc', 'Running', 180_000);
  const con = h.console('cc');
  await con.login('root');
  const cpuinfo = await con.run('grep -m2 -E "^(model name|flags)" /proc/cpuinfo');
  assert.match(cpuinfo, /model name\s*: Westmere/, cpuinfo);
  const flags = /flags\s*: (.*)/.exec(cpuinfo)![1]!.split(' ');
  assert.ok(flags.includes('avx2'), `avx2 required: ${flags.join(' ')}`);
  assert.ok(!flags.includes('sse4_2'), 'sse4.2 disabled (the kernel calls it sse4_2)');
  assert.ok(flags.includes('lahf_lm'), 'lahf_lm optional and provided');
  // The guest reads its RTC as UTC: it starts on Kolkata's wall time, 5h30 ahead.
  const skew = Number((await con.run('date +%s')).trim()) - Date.now() / 1000;
  assert.ok(Math.abs(skew - KOLKATA) < 120, `the guest clock is ${skew} s from the host's, expected ~${KOLKATA} (accelerator ${accel})`);
  const sources = await con.run('cat /sys/devices/system/clocksource/clocksource0/available_clocksource');
  assert.doesNotMatch(sources, /hpet/, sources);
  assert.match(await con.run('cat /sys/class/dmi/id/chassis_vendor /sys/class/dmi/id/chassis_asset_tag'), /virtnode-test\ntag-7/);
  con.close();
});

test('what only KVM provides is refused at Apply on a TCG node, with each path', async (t) => {
  if ((await accelerator()) !== 'tcg') return t.skip('this node runs KVM');
  const r = await h.cli(['apply', '-f', '-'], vmi('kv', {
    features: { hyperv: { relaxed: {} }, pvspinlock: {} },
    cpu: { model: 'Skylake-Server', features: [{ name: 'nosuch-feature', policy: 'force' }] },
  }));
  assert.notEqual(r.code, 0);
  for (const p of ['spec.domain.features.hyperv.relaxed', 'spec.domain.features.pvspinlock', 'spec.domain.cpu.model', 'spec.domain.cpu.features[0].name']) {
    assert.ok(r.stderr.includes(p), `${p} in: ${r.stderr}`);
  }
  assert.match(r.stderr, /needs KVM: this node runs VMs under software emulation \(TCG\)/);
  assert.match(r.stderr, /cannot run on this node under TCG: it lacks/);
  const got = await h.cli(['get', 'vmis', 'kv']);
  assert.notEqual(got.code, 0, 'nothing was stored');
});
