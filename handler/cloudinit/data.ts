// What a cloud-init volume holds, as KubeVirt's virt-launcher writes it
// (pkg/cloud-init): NoCloud gets meta-data (JSON, which cloud-init reads as YAML),
// user-data and network-config in the root of a "cidata" ISO; ConfigDrive gets
// openstack/latest/{meta_data.json,user_data,network_data.json} on a "config-2" ISO.
//
// The instance id is what tells cloud-init "first boot" from "reboot", so it must
// stay the same for a VM across restarts: NoCloud's is the firmware UUID (stable per
// VM), ConfigDrive's is "<name>.<namespace>" with the firmware UUID beside it (which
// cloud-init's ConfigDrive source takes as the instance id).

import { VirtnodeError } from '../../proto/errors.js';
import type { CloudInitSource, VirtualMachineInstance, Volume } from '../../proto/vmi/types.js';

export interface CloudInitImage {
  /** The ISO's volume label, by which cloud-init finds its drive. */
  label: 'cidata' | 'config-2';
  files: { path: string; data: Buffer }[];
}

/** The DNS label KubeVirt gives the guest: spec.hostname, else the VMI name up to its first dot (63 at most). */
export function guestHostname(vmi: VirtualMachineInstance): string {
  return vmi.spec.hostname || vmi.metadata.name.split('.')[0]!.slice(0, 63);
}

/** The files of a cloud-init volume of `vmi`; admission has checked the source. */
export function cloudInitImage(vmi: VirtualMachineInstance, volume: Volume): CloudInitImage {
  // A VM's VMIs carry its stable firmware UUID; a bare VMI has none, and lives once:
  // its uid is the system UUID its guest sees (launcher/domain/devices/machine.ts).
  const firmwareUuid = vmi.spec.domain.firmware?.uuid || vmi.metadata.uid;
  if (!firmwareUuid) throw new VirtnodeError('VN_INTERNAL', `VMI ${vmi.metadata.name} has neither a firmware UUID nor a uid for cloud-init's instance id`);
  const hostname = guestHostname(vmi);
  if (volume.cloudInitNoCloud) {
    const { userData, networkData } = readSource(volume.cloudInitNoCloud);
    const metaData = { 'instance-id': firmwareUuid, 'local-hostname': hostname };
    return {
      label: 'cidata',
      files: [
        { path: 'meta-data', data: Buffer.from(JSON.stringify(metaData)) },
        { path: 'user-data', data: userData },
        ...(networkData ? [{ path: 'network-config', data: networkData }] : []),
      ],
    };
  }
  if (volume.cloudInitConfigDrive) {
    const { userData, networkData } = readSource(volume.cloudInitConfigDrive);
    const metaData = { instance_id: `${vmi.metadata.name}.${vmi.metadata.namespace ?? 'default'}`, hostname, uuid: firmwareUuid };
    return {
      label: 'config-2',
      files: [
        { path: 'openstack/latest/meta_data.json', data: Buffer.from(JSON.stringify(metaData)) },
        { path: 'openstack/latest/user_data', data: userData },
        ...(networkData ? [{ path: 'openstack/latest/network_data.json', data: networkData }] : []),
      ],
    };
  }
  throw new VirtnodeError('VN_INTERNAL', `volume ${volume.name} is not a cloud-init volume`);
}

/** User and network data, raw or base64; an absent one is empty (KubeVirt writes user-data even then). */
function readSource(s: CloudInitSource): { userData: Buffer; networkData: Buffer | undefined } {
  const read = (raw: string | undefined, b64: string | undefined): Buffer | undefined => (b64 ? Buffer.from(b64, 'base64') : raw ? Buffer.from(raw) : undefined);
  return { userData: read(s.userData, s.userDataBase64) ?? Buffer.alloc(0), networkData: read(s.networkData, s.networkDataBase64) };
}
