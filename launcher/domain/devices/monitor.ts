// The QMP monitor: a unix socket QEMU listens on from its first moments, before the
// guest runs (-S), so the launcher can connect, watch, and then `cont`.

import { runDirLayout, type LaunchContext } from '../../../proto/launch.js';
import { checkSocketPath, serverSocketChardev } from '../qemu-opts.js';


export function qmpSocketFromContext(ctx: LaunchContext): string {
  return checkSocketPath('QMP socket', runDirLayout(ctx.runDir).qmpSocket);
}

/** -chardev + -mon rather than -qmp unix:PATH, whose PATH has no escaping. */
export function monitorArgv(socket: string): string[] {
  return [...serverSocketChardev('charmonitor', socket), '-mon', 'chardev=charmonitor,id=monitor,mode=control'];
}
