// One client per VMI console (and VNC display): a second is refused as "already
// attached" unless it forces, which detaches the first; a release only lets go of
// what that client still holds. The same through the real API: test/e2e/graphics.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttachedStreams } from '../../handler/api/console.js';
import { isVirtnodeError } from '../../proto/errors.js';

test('attached streams: refused while held, force takes over, stale releases do nothing', () => {
  const s = new AttachedStreams();
  const detached: string[] = [];
  const releaseA = s.attach('console of default/vm', false, (why) => detached.push(`a: ${why}`));
  assert.throws(
    () => s.attach('console of default/vm', false, () => assert.fail('a refused client is never detached')),
    (e: unknown) => isVirtnodeError(e) && e.code === 'VN_ALREADY_EXISTS' && /already attached/.test(e.message) && /--force/.test(e.message),
  );
  assert.equal(detached.length, 0, 'the holder keeps the console when another is refused');
  // Other keys are independent: the VNC display of the same VMI, the console of another.
  const releaseVnc = s.attach('VNC display of default/vm', false, () => undefined);
  const releaseOther = s.attach('console of default/other', false, () => undefined);
  const releaseB = s.attach('console of default/vm', true, (why) => detached.push(`b: ${why}`));
  assert.deepEqual(detached, ['a: console of default/vm: taken over by another client']);
  releaseA(); // a's call ends after it was detached: b keeps the console
  assert.throws(() => s.attach('console of default/vm', false, () => undefined), /already attached/);
  releaseB();
  const releaseC = s.attach('console of default/vm', false, () => undefined);
  for (const r of [releaseC, releaseVnc, releaseOther]) r();
  assert.equal(s.size, 0);
});
