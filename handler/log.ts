// The handler's structured log: pino JSON on stdout, one line per event. Every line
// about a VMI carries its namespace, name and uid (KubeVirt's log keys), so a
// grep for a uid follows one VM across handler and launcher logs.

import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(opts: { level?: string; destination?: number | string } = {}): Logger {
  const dest = pino.destination({ dest: opts.destination ?? 1, sync: false });
  return pino(
    {
      level: opts.level ?? process.env.VIRTNODE_LOG_LEVEL ?? 'info',
      base: { component: 'virtnode-handler', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    dest,
  );
}
