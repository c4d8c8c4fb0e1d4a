// Pointing a process's stdout/stderr at another file after it started: a spare
// launcher starts writing to the pool's log and, once it serves a VM, moves to that
// VM's log, so even a crash trace lands where the VM's other lines are.
import { libcFunction, check } from './libc.js';

/** dup2(fd, 1) and dup2(fd, 2). */
export function redirectStdoutStderr(fd: number): void {
  const dup2 = libcFunction('dup2', 'int dup2(int oldfd, int newfd)');
  check(`dup2(${fd}, 1)`, dup2(fd, 1));
  check(`dup2(${fd}, 2)`, dup2(fd, 2));
}
