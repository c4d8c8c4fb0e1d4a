// VMIs as they reach the launcher (defaulted and validated), and the LaunchContexts
// a handler would prepare for them, shared by the argv/convert unit tests and the
// real-QEMU test.

import type { LaunchContext } from '../../proto/launch.js';
import type { VirtualMachineInstance, VirtualMachineInstanceSpec } from '../../proto/vmi/types.js';

export const UID = '6f1f0a3e-5d0c-4a8e-9a51-1b2c3d4e5f60';
export const FIRMWARE_UUID = '0f4e6e3c-7f9a-5b8e-9c3d-2a1b0c9d8e7f';

export function vmi(name: string, spec: VirtualMachineInstanceSpec): VirtualMachineInstance {
  return { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: { name, namespace: 'default', uid: UID }, spec };
}

/** KubeVirt's getting-started VM (vm-cirros), after virtnode's defaults. */
export function gettingStarted(): VirtualMachineInstance {
  return vmi('vm-cirros', {
    domain: {
      machine: { type: 'q35' },
      cpu: { sockets: 1, cores: 1, threads: 1 },
      memory: { guest: '64M' },
      resources: { requests: { memory: '64M' } },
      firmware: { uuid: FIRMWARE_UUID },
      features: { acpi: { enabled: true } },
      devices: {
        disks: [{ name: 'containerdisk', disk: { bus: 'virtio' } }],
        autoattachSerialConsole: true,
        autoattachMemBalloon: true,
        autoattachGraphicsDevice: false,
      },
    },
    volumes: [{ name: 'containerdisk', containerDisk: { image: 'quay.io/kubevirt/cirros-container-disk-demo', imagePullPolicy: 'Always' } }],
    terminationGracePeriodSeconds: 30,
  });
}

export function context(runDir: string, volumes: LaunchContext['volumes'], extra: Partial<LaunchContext> = {}): LaunchContext {
  return { runDir, accelerator: 'tcg', volumes, ...extra };
}

/** A disk whose directory holds ',' and '=': the path QEMU's legacy syntax would split. */
export const HOSTILE_DIR = '/var/run/vn/a,b=c';

/** The same VM, its disk path hostile and its disk serial and SMBIOS serial too. */
export function hostileDisk(): VirtualMachineInstance {
  const v = gettingStarted();
  v.metadata.name = 'hostile';
  v.spec.domain.devices.disks = [{ name: 'containerdisk', disk: { bus: 'virtio' }, serial: 'S,N=1' }];
  v.spec.domain.firmware = { uuid: FIRMWARE_UUID, serial: 'x,uuid=00000000-0000-0000-0000-000000000000' };
  return v;
}

/** Direct kernel boot with a command line full of spaces, commas and '='. */
export const KERNEL_ARGS = 'console=ttyS0 root=/dev/vda rw  quiet,loglevel=3 vn.x="a,b c"';

export function kernelBoot(): VirtualMachineInstance {
  const v = gettingStarted();
  v.metadata.name = 'kboot';
  v.spec.domain.firmware = {
    uuid: FIRMWARE_UUID,
    kernelBoot: { kernelArgs: KERNEL_ARGS, container: { image: 'registry.local/kernel:1', kernelPath: '/boot/vmlinuz', initrdPath: '/boot/initrd' } },
  };
  return v;
}

/** rng on, balloon off, serial console off. */
export function rngNoBalloonNoSerial(): VirtualMachineInstance {
  const v = gettingStarted();
  v.metadata.name = 'quiet';
  v.spec.domain.devices.rng = {};
  v.spec.domain.devices.autoattachMemBalloon = false;
  v.spec.domain.devices.autoattachSerialConsole = false;
  return v;
}

/** Two disks; the second boots first. */
export function twoDisks(): VirtualMachineInstance {
  const v = gettingStarted();
  v.metadata.name = 'twodisks';
  v.spec.domain.devices.disks = [
    { name: 'data', disk: { bus: 'virtio' }, bootOrder: 2 },
    { name: 'root', disk: { bus: 'virtio' }, bootOrder: 1 },
  ];
  v.spec.volumes = [
    { name: 'data', emptyDisk: { capacity: '1Gi' } },
    { name: 'root', containerDisk: { image: 'quay.io/kubevirt/cirros-container-disk-demo' } },
  ];
  return v;
}
