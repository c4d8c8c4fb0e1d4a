// Writing a VMI's status and its node Events, for the controller and its rooms:
// every write checks that the stored object is still the same VMI (a VMI deleted
// and made again under its name is another object), and a VMI deleted meanwhile
// simply has no status left to set.

import { NotFoundError } from '../../proto/errors.js';
import type { DomainEvent__Output } from '../../proto/generated/virtnode/launcher/v1/DomainEvent.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { Store } from '../store/store.js';
import type { AcceleratorChoice } from '../../proto/accelerator.js';
import { LAUNCHER_PID_ANNOTATION, setAnnotation } from '../../proto/vmi/annotations.js';
import { applyDomainEvent, failVmi, setCondition, type EventNote } from './status.js';
import { applyAgentStatus } from './agent-status.js';
import type { GuestAgentStatus__Output } from '../../proto/generated/virtnode/launcher/v1/GuestAgentStatus.js';
import { KIND } from './vmi-runtime.js';

export class VmiStatusWriter {
  #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Changes the stored VMI (status made if missing); `fn` returning false changes nothing. */
  update(vmi: VirtualMachineInstance, fn: (o: VirtualMachineInstance) => void | false): Promise<void> {
    try {
      return this.#store.mutate<VirtualMachineInstance>(KIND, vmi.metadata.namespace!, vmi.metadata.name, (o) => {
        if (o.metadata.uid !== vmi.metadata.uid) return false;
        o.status ??= { phase: 'Pending', conditions: [] };
        return fn(o);
      }).durable;
    } catch (e) {
      if (e instanceof NotFoundError) return Promise.resolve();
      throw e;
    }
  }

  /** The launcher runs: its pid, and KubeVirt's SoftwareEmulation condition when the guest gets TCG. */
  launcherStarted(vmi: VirtualMachineInstance, launcherPid: number | undefined, accel: AcceleratorChoice): Promise<void> {
    return this.update(vmi, (o) => {
      setAnnotation(o.metadata, LAUNCHER_PID_ANNOTATION, launcherPid);
      if (!accel.softwareEmulation) return;
      o.status!.conditions = setCondition(o.status!.conditions, {
        type: 'SoftwareEmulation',
        status: 'True',
        reason: 'KVMUnavailable',
        message: 'KVM is not usable on this node; the guest runs under QEMU TCG software emulation (useEmulation)',
      });
    });
  }

  /** Marks the VMI Failed for a reason found outside the domain (launcher died, sandbox failed). */
  fail(vmi: VirtualMachineInstance, reason: string, message: string): void {
    let notes: EventNote[] = [];
    void this.update(vmi, (o) => {
      notes = failVmi(o, reason, message);
    });
    for (const n of notes) this.event(vmi, n.type, n.reason, n.message);
  }

  /** Applies a launcher's domain event to the VMI `uid`, durably, with the Events it is worth. */
  async applyDomainEvent(uid: string, ns: string, name: string, ev: DomainEvent__Output): Promise<void> {
    const vmi = this.#store.get<VirtualMachineInstance>(KIND, ns, name);
    if (vmi?.metadata.uid !== uid) return;
    let notes: EventNote[] = [];
    await this.update(vmi, (o) => {
      notes = applyDomainEvent(o, ev);
    });
    for (const n of notes) this.event(vmi, n.type, n.reason, n.message);
  }

  /** Applies the guest agent's status to the VMI `uid`; writes only what changed. */
  async applyAgentStatus(uid: string, ns: string, name: string, s: GuestAgentStatus__Output): Promise<void> {
    const vmi = this.#store.get<VirtualMachineInstance>(KIND, ns, name);
    if (vmi?.metadata.uid !== uid) return;
    let notes: EventNote[] = [];
    await this.update(vmi, (o) => {
      const r = applyAgentStatus(o, s);
      notes = r.notes;
      return r.changed ? undefined : false;
    });
    for (const n of notes) this.event(vmi, n.type, n.reason, n.message);
  }

  event(vmi: VirtualMachineInstance, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.#store.recordEvent({ type, reason, message, object: vmi });
  }
}
