// The launcher's structured log: pino JSON on stdout, which the handler (or kubelet)
// sends to the VM's log file. Every line carries the VMI's namespace, name and uid,
// so one grep follows a VM across both processes.

import { pino, type Logger } from 'pino';

export type { Logger };

/** The process's logger, on stdout (a spare makes it before it knows its VMI). */
export function createLauncherLogger(level?: string): Logger {
  return pino(
    {
      level: level ?? process.env.VIRTNODE_LOG_LEVEL ?? 'info',
      base: { component: 'virt-launcher', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ dest: 1, sync: true }),
  );
}

/** Every line about the VM carries its kind, namespace, name and uid. */
export function forVmi(log: Logger, vmi: { namespace: string; name: string; uid: string }): Logger {
  return log.child({ kind: 'VirtualMachineInstance', namespace: vmi.namespace, name: vmi.name, uid: vmi.uid });
}
