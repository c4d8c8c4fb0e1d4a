// Domain → QEMU argv, a pure function: the sum of each device module's fragment.
// QEMU starts paused (-S) with nothing it was not told to create (-nodefaults,
// -no-user-config), no local display (VNC at most: devices/graphics.ts), and a
// seccomp sandbox; the launcher connects QMP and resumes it. See qemu-opts.ts for how values are quoted.

import { guestAgentArgv } from './devices/agent.js';
import { balloonArgv } from './devices/balloon.js';
import { bootArgv } from './devices/boot.js';
import { serialArgv } from './devices/console.js';
import { disksArgv } from './devices/disk.js';
import { graphicsArgv } from './devices/graphics.js';
import { hotplugArgv } from './devices/hotplug.js';
import { interfaceArgv } from './devices/interface.js';
import { ioThreadArgv } from './devices/iothreads.js';
import { machineArgv } from './devices/machine.js';
import { monitorArgv } from './devices/monitor.js';
import { lifecycleArgv, panicArgv } from './devices/panic.js';
import { rngArgv } from './devices/rng.js';
import { tpmArgv } from './devices/tpm.js';
import type { Domain } from './types.js';

export const DEFAULT_QEMU_BINARY = 'qemu-system-x86_64';

export interface ArgvOptions {
  qemuBinary?: string;
}

/**
 * libvirt's seccomp policy (qemu.conf seccomp_sandbox=1): no obsolete syscalls, no
 * setuid, no fork/exec, no scheduler or affinity changes from inside QEMU.
 */
const SANDBOX = 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny';

/** The full command line, binary first. */
export function buildArgv(d: Domain, opts: ArgvOptions = {}): string[] {
  return [
    opts.qemuBinary ?? DEFAULT_QEMU_BINARY,
    '-S',
    '-nodefaults',
    '-no-user-config',
    '-display', 'none',
    '-msg', 'timestamp=on',
    '-sandbox', SANDBOX,
    ...machineArgv(d),
    ...lifecycleArgv(d.lifecycle),
    ...monitorArgv(d.qmpSocket),
    ...bootArgv(d.boot),
    ...(d.serialSocket !== undefined ? serialArgv(d.serialSocket) : []),
    ...graphicsArgv(d.graphics),
    ...ioThreadArgv(d.ioThreads),
    ...disksArgv(d),
    ...d.interfaces.flatMap(interfaceArgv),
    ...(d.rng ? rngArgv(d.rng) : []),
    ...(d.balloon ? balloonArgv(d.balloon) : []),
    ...(d.guestAgent ? guestAgentArgv(d.guestAgent) : []),
    ...(d.panic ? panicArgv(d.panic) : []),
    ...(d.tpm ? tpmArgv(d.tpm) : []),
    ...hotplugArgv(d.hotplugPorts),
  ];
}
