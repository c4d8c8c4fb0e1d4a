// QMP's getfd needs SCM_RIGHTS; native/ is the only place koffi is loaded.
export { sendFds, socketFd } from '../../native/index.js';
