import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GUEST_OFFSET, RESET_OFFSET, ROM_SIZE, STAGES, guestCode, guestSource, probeRom, readProgress,
} from '../../launcher/accel/guest.js';

const nasm = spawnSync('nasm', ['-v'], { encoding: 'utf8' });
const hasNasm = nasm.status === 0;

test('the -bios image: 64 KiB, the guest at 0xff000, a far jump to it at the reset vector', () => {
  const rom = probeRom();
  const { guest } = guestCode();
  assert.equal(rom.length, ROM_SIZE);
  assert.ok(guest.length > 500 && GUEST_OFFSET + guest.length <= RESET_OFFSET, `guest is ${guest.length} bytes`);
  assert.deepEqual(rom.subarray(GUEST_OFFSET, GUEST_OFFSET + guest.length), guest);
  // jmp far seg:off; QEMU's isa-bios alias shows the 64 KiB image at 0xf0000-0xfffff
  assert.equal(rom[RESET_OFFSET], 0xea);
  const target = rom.readUInt16LE(RESET_OFFSET + 3) * 16 + rom.readUInt16LE(RESET_OFFSET + 1);
  assert.equal(target, 0x100000 - ROM_SIZE + GUEST_OFFSET);
  assert.equal(guest[0], 0xfa, 'start16 begins with cli');
});

test('the listing: its machine code column is what NASM makes of its source column',
  { skip: !hasNasm && 'nasm is not installed (apt-get install nasm)' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'virtnode-accel-nasm-'));
    try {
      const src = guestSource();
      const code = guestCode();
      for (const part of ['guest', 'reset'] as const) {
        writeFileSync(join(dir, `${part}.asm`), src[part]);
        const r = spawnSync('nasm', ['-f', 'bin', '-o', join(dir, `${part}.bin`), join(dir, `${part}.asm`)], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stderr.trim(), '', `nasm warned about ${part}: ${r.stderr}`);
        assert.deepEqual(readFileSync(join(dir, `${part}.bin`)), code[part], `${part}: bytes differ from their source`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

test('readProgress names the stage in progress and decodes the work time', () => {
  assert.deepEqual(readProgress(''), { passed: [], stuckIn: STAGES[0]!.name, workNs: undefined });
  const stuck = readProgress('RPLT');
  assert.equal(stuck.stuckIn, 'lock cmpxchg16b');
  assert.deepEqual(stuck.passed, STAGES.slice(0, 4).map((s) => s.name));
  const done = readProgress('RPLTAW0023c346');
  assert.equal(done.stuckIn, undefined);
  assert.equal(done.passed.length, STAGES.length);
  assert.equal(done.workNs, 0x23c346);
  // letters out of order are not progress
  assert.equal(readProgress('RLP').stuckIn, STAGES[1]!.name);
});
