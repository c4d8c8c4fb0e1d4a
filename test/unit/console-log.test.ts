// The serial console log (devices.logSerialConsole) and the handler's reading of it,
// on real files: bounded to maxBytes per part with one rotation, the newest output
// always kept, a backlog that never grows past maxBytes in memory, and a reader that
// refuses a link where the log should be.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ConsoleLog } from '../../launcher/console-log.js';
import { readTail } from '../../handler/api/console-log.js';
import { CONSOLE_LOG_BYTES } from '../../proto/launch.js';

const silent = pino({ level: 'silent' });

function tmp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'vn-conlog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Numbered lines, so what survived can be told from what did not. */
function lines(from: number, to: number): Buffer {
  let s = '';
  for (let i = from; i < to; i++) s += `line ${String(i).padStart(6, '0')}\n`;
  return Buffer.from(s);
}

test('console log: rotates at maxBytes into one .1, never over the limit, and keeps the newest output', async (t) => {
  const path = join(tmp(t), 'console.log');
  const max = 4096;
  const log = new ConsoleLog(path, silent, max);
  assert.equal(CONSOLE_LOG_BYTES, 1 << 20, 'the default part is 1 MiB');
  // 11 bytes a line: 3000 lines are ~8 parts' worth, written in small chunks as a guest does.
  for (let i = 0; i < 3000; i += 10) {
    log.write(lines(i, i + 10));
    if (i % 200 === 0) await log.flush();
  }
  await log.close();
  const cur = readFileSync(path);
  const old = readFileSync(`${path}.1`);
  assert.ok(cur.length <= max && old.length === max, `parts of ${old.length} and ${cur.length} bytes, limit ${max}`);
  const both = Buffer.concat([old, cur]).toString();
  assert.ok(both.endsWith('line 002999\n'), 'the newest output is kept');
  // Written in order with nothing lost inside the window: the joined parts are a contiguous run of lines.
  const whole = both.slice(both.indexOf('\n') + 1).split('\n').filter(Boolean);
  const first = Number(whole[0]!.slice(5));
  assert.deepEqual(whole, Array.from({ length: whole.length }, (_, k) => `line ${String(first + k).padStart(6, '0')}`));
  assert.ok(first > 2000, 'older output rotated away');
  assert.equal(statSync(path).mode & 0o777, 0o600);
});

test('console log: a burst larger than the limit keeps only its tail; the backlog is bounded and says what it dropped', async (t) => {
  const path = join(tmp(t), 'console.log');
  const max = 1000;
  const log = new ConsoleLog(path, silent, max);
  // Queued faster than written (no await between): at most `max` bytes wait in memory.
  for (let i = 0; i < 500; i++) log.write(lines(i, i + 1));
  await log.close();
  const both = Buffer.concat([readFileSync(`${path}.1`, { flag: 'a+' }), readFileSync(path)]).toString();
  assert.ok(both.length <= 2 * max, `${both.length} bytes on disk`);
  assert.ok(both.endsWith('line 000499\n'));
  assert.match(both, /\[virtnode: \d+ bytes of console output dropped: the log fell behind\]/);
  // One write bigger than a part: the marker, then as much of its tail as fits one part.
  const bigPath = join(tmp(t), 'big.log');
  const big = new ConsoleLog(bigPath, silent, max);
  const burst = lines(0, 1000);
  big.write(burst);
  await big.close();
  const got = readFileSync(bigPath);
  const marker = `\r\n[virtnode: ${burst.length - max} bytes of console output dropped: the log fell behind]\r\n`;
  assert.equal(got.length, max);
  assert.equal(got.subarray(0, marker.length).toString(), marker);
  assert.deepEqual(got.subarray(marker.length), burst.subarray(burst.length - (max - marker.length)));
});

test('console log: a log that existed (a restarted launcher) is appended to and still rotated at the limit', async (t) => {
  const path = join(tmp(t), 'console.log');
  writeFileSync(path, 'x'.repeat(900));
  const log = new ConsoleLog(path, silent, 1000);
  log.write(Buffer.from('y'.repeat(300)));
  await log.close();
  assert.equal(readFileSync(`${path}.1`).toString(), 'x'.repeat(900) + 'y'.repeat(100));
  assert.equal(readFileSync(path).toString(), 'y'.repeat(200));
});

test('handler reads the log: the tail up to the limit; nothing when absent; a symlink or a hard link is refused', async (t) => {
  const dir = tmp(t);
  const path = join(dir, 'console.log');
  assert.deepEqual(await readTail(path), Buffer.alloc(0));
  writeFileSync(path, 'abcdefghij');
  assert.equal((await readTail(path, 4)).toString(), 'ghij');
  assert.equal((await readTail(path)).toString(), 'abcdefghij');
  const secret = join(dir, 'secret');
  writeFileSync(secret, 'root only');
  symlinkSync(secret, join(dir, 'sym.log'));
  await assert.rejects(readTail(join(dir, 'sym.log')), /ELOOP|symbolic link/);
  linkSync(secret, join(dir, 'hard.log'));
  await assert.rejects(readTail(join(dir, 'hard.log')), /not the console log the launcher writes/);
});
