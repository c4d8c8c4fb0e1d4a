// The Node service's guest agent calls (virtctl guestosinfo, fslist, userlist,
// freeze, unfreeze): each is asked of the running VMI's launcher, which asks the
// guest's agent now. A name may be a VM (its VMI is asked) or a bare VMI.

import { InvalidSpecError, NotFoundError, VirtnodeError } from '../../proto/errors.js';
import { KIND_VM, KIND_VMI, type VirtualMachine, type VirtualMachineInstance } from '../../proto/vmi/index.js';
import type { FreezeRequest__Output } from '../../proto/generated/virtnode/handler/v1/FreezeRequest.js';
import type { GuestAgentRequest__Output } from '../../proto/generated/virtnode/handler/v1/GuestAgentRequest.js';
import type { GuestAgentResponse } from '../../proto/generated/virtnode/handler/v1/GuestAgentResponse.js';
import type { LifecycleRequest__Output } from '../../proto/generated/virtnode/handler/v1/LifecycleRequest.js';
import type { OperationResponse } from '../../proto/generated/virtnode/handler/v1/OperationResponse.js';
import type { Store } from '../store/store.js';
import type { VmiController } from '../controller/vmi.js';
import { namespaceOf } from './admission.js';

/** The longest unfreeze timeout taken: a day (a guest frozen longer is a guest hung). */
const MAX_UNFREEZE_TIMEOUT_SECONDS = 86_400;

export interface AgentServiceDeps {
  store: Store;
  vmis: Pick<VmiController, 'agentVerb'>;
}

export function agentService(d: AgentServiceDeps): {
  query(req: GuestAgentRequest__Output, what: 'guestosinfo' | 'fslist' | 'userlist'): Promise<GuestAgentResponse>;
  freeze(req: FreezeRequest__Output): Promise<OperationResponse>;
  unfreeze(req: LifecycleRequest__Output): Promise<OperationResponse>;
} {
  function vmiOf(namespace: string, name: string): VirtualMachineInstance {
    if (!name) throw new InvalidSpecError([{ path: 'name', message: 'required' }]);
    const vmi = d.store.get<VirtualMachineInstance>(KIND_VMI, namespace, name);
    if (vmi) return vmi;
    if (d.store.get<VirtualMachine>(KIND_VM, namespace, name)) throw new VirtnodeError('VN_ILLEGAL_TRANSITION', `VirtualMachine ${namespace}/${name} is not running (it has no VirtualMachineInstance)`);
    throw new NotFoundError(`VirtualMachine or VirtualMachineInstance ${namespace}/${name}`);
  }

  return {
    async query(req, what) {
      const vmi = vmiOf(namespaceOf(req.namespace), req.name);
      const r = await d.vmis.agentVerb(vmi.metadata.namespace!, vmi.metadata.name, what, { guestAgent: { what } });
      return { json: r.agentJson };
    },
    async freeze(req) {
      const timeout = req.unfreezeTimeoutSeconds;
      if (!Number.isInteger(timeout) || timeout < 0 || timeout > MAX_UNFREEZE_TIMEOUT_SECONDS) {
        throw new InvalidSpecError([{ path: 'unfreezeTimeout', message: `must be between 0 and ${MAX_UNFREEZE_TIMEOUT_SECONDS} seconds, got ${timeout}` }]);
      }
      const vmi = vmiOf(namespaceOf(req.namespace), req.name);
      await d.vmis.agentVerb(vmi.metadata.namespace!, vmi.metadata.name, 'freeze', { freeze: { unfreezeTimeoutSeconds: timeout } });
      return { message: `VMI ${vmi.metadata.name} was frozen${timeout ? `; it thaws by itself in ${timeout}s unless unfrozen before` : ''}` };
    },
    async unfreeze(req) {
      const vmi = vmiOf(namespaceOf(req.namespace), req.name);
      await d.vmis.agentVerb(vmi.metadata.namespace!, vmi.metadata.name, 'unfreeze', { unfreeze: {} });
      return { message: `VMI ${vmi.metadata.name} was unfrozen` };
    },
  };
}
