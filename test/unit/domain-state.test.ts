// The domain's state table: legal transitions pass, illegal ones name both states.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkOperation, checkTransition, isFinal } from '../../launcher/domain/state.js';
import { IllegalTransitionError } from '../../proto/errors.js';

test('operations legal only in their states, errors naming both', () => {
  checkOperation('RUNNING', 'pause');
  checkOperation('PAUSED', 'unpause');
  checkOperation('PAUSED', 'shutdown');
  assert.throws(
    () => checkOperation('PAUSED', 'pause'),
    (e: unknown) => e instanceof IllegalTransitionError && e.message === 'invalid state transition "PAUSED" to "PAUSED": pause is not possible while the domain is PAUSED',
  );
  assert.throws(() => checkOperation('SHUTOFF', 'kill'), IllegalTransitionError);
  assert.throws(() => checkOperation('NO_STATE', 'reset'), IllegalTransitionError);
});

test('transitions follow the table; final states are final', () => {
  checkTransition('NO_STATE', 'STARTING');
  checkTransition('STARTING', 'RUNNING');
  checkTransition('RUNNING', 'RUNNING');
  checkTransition('SHUTTING_DOWN', 'SHUTOFF');
  assert.throws(() => checkTransition('SHUTOFF', 'RUNNING'), /invalid state transition "SHUTOFF" to "RUNNING"/);
  assert.throws(() => checkTransition('SHUTTING_DOWN', 'PAUSED'), IllegalTransitionError);
  assert.ok(isFinal('CRASHED') && isFinal('SHUTOFF') && !isFinal('PAUSED'));
});
