// The manifest reader's worker thread: reads and judges one manifest at a time off
// the handler's event loop (see manifest-reader.ts) and answers with the judged
// objects, or with the field errors that refuse the whole manifest.

import { parentPort } from 'node:worker_threads';
import { errorMessage, InvalidSpecError } from '../../proto/errors.js';
import { judgeManifest } from '../../proto/vmi/admit.js';
import type { ValidateOptions } from '../../proto/vmi/validate.js';

export type WorkerAnswer =
  | { id: number; ok: ReturnType<typeof judgeManifest> }
  | { id: number; fields: InvalidSpecError['fields'] }
  | { id: number; failed: string };

parentPort!.on('message', ({ id, text, options }: { id: number; text: string; options: Partial<ValidateOptions> }) => {
  let answer: WorkerAnswer;
  try {
    answer = { id, ok: judgeManifest(text, options) };
  } catch (e) {
    answer = e instanceof InvalidSpecError ? { id, fields: e.fields } : { id, failed: errorMessage(e) };
  }
  parentPort!.postMessage(answer);
});
