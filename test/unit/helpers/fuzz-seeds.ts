// KubeVirt-shaped manifests the admission fuzzer starts from: KubeVirt's
// getting-started VM as examples/vm-cirros.yaml holds it, and VMs and VMIs written
// the way KubeVirt's user guide writes them (several disks, cloud-init NoCloud and
// ConfigDrive, an empty disk, direct kernel boot, CPU and memory variants, both
// bindings). Every one is accepted by Apply as it is: the fuzzer mutates from there.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export type Json = Record<string, any>;

/** examples/vm-cirros.yaml, verbatim (no apiVersion line, as KubeVirt's guide prints it). */
export const CIRROS_YAML = readFileSync(join(import.meta.dirname, '..', '..', '..', '..', 'examples', 'vm-cirros.yaml'), 'utf8');

const SEVERAL_DISKS = `
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: vmi-fedora
  namespace: ns-1
  labels: {special: vmi-fedora}
  annotations: {example.com/note: "a, b = c"}
spec:
  domain:
    cpu: {sockets: 1, cores: 2, threads: 1, model: Skylake-Client-v4}
    memory: {guest: 128Mi}
    resources:
      requests: {memory: 128Mi, cpu: 500m}
      limits: {memory: 256Mi, cpu: "2"}
    machine: {type: pc-q35-7.2}
    features: {acpi: {enabled: true}}
    firmware:
      uuid: 5d307ca9-b3ef-428c-8861-06e72d69f223
      serial: "SN-1,uuid=00000000-0000-0000-0000-000000000000"
      bootloader: {bios: {}}
    devices:
      disks:
      - name: containerdisk
        disk: {bus: virtio}
        bootOrder: 1
      - name: scratch
        disk: {bus: virtio, readonly: false}
        serial: scratch-1
        cache: writeback
      - name: cloudinitdisk
        disk: {bus: virtio}
      interfaces:
      - name: default
        masquerade: {}
        model: virtio
        macAddress: "de:ad:00:00:be:af"
        ports: [{name: http, port: 80}, {port: 22, protocol: TCP}]
      rng: {}
      autoattachSerialConsole: true
      autoattachMemBalloon: false
      networkInterfaceMultiqueue: true
  networks:
  - name: default
    pod: {vmNetworkCIDR: 10.0.2.0/24}
  volumes:
  - name: containerdisk
    containerDisk:
      image: quay.io/kubevirt/fedora-cloud-container-disk-demo:latest
      path: /disk/fedora.qcow2
  - name: scratch
    emptyDisk: {capacity: 2Gi}
  - name: cloudinitdisk
    cloudInitNoCloud:
      userData: |
        #cloud-config
        password: fedora
        chpasswd: { expire: False }
  hostname: fedora
  terminationGracePeriodSeconds: 0
`;

const KERNEL_BOOT = `
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: vmi-kernel-boot}
spec:
  domain:
    firmware:
      kernelBoot:
        kernelArgs: 'console=ttyS0 root=/dev/vda rw quiet,loglevel=3 vn.x="a,b c"'
        container:
          image: registry:5000/kernel-boot:devel
          kernelPath: /boot/vmlinuz
          initrdPath: /boot/initramfs.img
          imagePullPolicy: IfNotPresent
    devices:
      disks: [{name: rootdisk, disk: {bus: virtio}}]
      autoattachPodInterface: false
    resources: {requests: {memory: 64M}}
  volumes:
  - name: rootdisk
    emptyDisk: {capacity: 1Gi}
`;

const CONFIG_DRIVE_VM = `
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: vm-config-drive
  labels: {app: config-drive}
spec:
  running: true
  template:
    metadata:
      labels: {kubevirt.io/domain: vm-config-drive}
      annotations: {example.com/owner: "team a"}
    spec:
      domain:
        cpu: {cores: 2}
        memory: {guest: 1Gi}
        devices:
          disks:
          - name: root
            disk: {}
          - name: cloudinit
            disk: {bus: virtio}
            serial: CI.1+2
          interfaces:
          - {name: pod-net, bridge: {}, model: e1000e}
        firmware: {serial: "ünïcødé serial = x"}
      networks: [{name: pod-net, pod: {}}]
      volumes:
      - name: root
        containerDisk: {image: "localhost:5000/vm/root@sha256:${'a'.repeat(64)}"}
      - name: cloudinit
        cloudInitConfigDrive:
          userDataBase64: I2Nsb3VkLWNvbmZpZwpob3N0bmFtZTogdm0K
          networkData: |
            version: 2
            ethernets: {eth0: {dhcp4: true}}
`;

const CPU_FROM_RESOURCES = `
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: vmi-small, namespace: default}
spec:
  evictionStrategy: None
  domain:
    resources: {requests: {cpu: "2", memory: 1G}}
    machine: {type: q35}
    devices:
      autoattachSerialConsole: false
      autoattachPodInterface: false
`;

const HALTED_VM = `
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: vm-limits, namespace: ns-2}
spec:
  runStrategy: RerunOnFailure
  template:
    spec:
      domain:
        cpu: {sockets: 2, threads: 2, model: host-model}
        resources:
          limits: {memory: 512Mi, cpu: 1500m}
          overcommitGuestOverhead: true
        devices:
          disks:
          - name: data
            disk: {bus: virtio, readonly: true}
            bootOrder: 2
          - name: boot
            bootOrder: 1
          interfaces: [{name: default, masquerade: {}, ports: [{port: 8080, protocol: UDP}]}]
      networks: [{name: default, pod: {}}]
      volumes:
      - {name: data, emptyDisk: {capacity: 10M}}
      - {name: boot, containerDisk: {image: quay.io/containerdisks/fedora:40, imagePullPolicy: Always}}
`;

/** Each seed manifest's text: YAML as a user would write it. */
const DISK_BUSES = `
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: buses}
spec:
  domain:
    ioThreadsPolicy: auto
    resources: {requests: {memory: 96Mi}}
    devices:
      disks:
      - {name: containerdisk, disk: {bus: virtio}, dedicatedIOThread: true}
      - {name: sata, disk: {bus: sata}, serial: "S-1", cache: none, io: native, errorPolicy: enospace}
      - {name: scsi, disk: {bus: scsi}, shareable: true, errorPolicy: report, blockSize: {custom: {logical: 512, physical: 4096}}}
      - {name: usb, disk: {bus: usb, readonly: true}, cache: writeback, errorPolicy: ignore}
      - {name: cloudinit, cdrom: {bus: sata}}
      - {name: scsicd, cdrom: {bus: scsi}}
  volumes:
  - {name: containerdisk, containerDisk: {image: "quay.io/kubevirt/cirros-container-disk-demo:v1.9.0"}}
  - {name: sata, emptyDisk: {capacity: 64Mi}}
  - {name: scsi, emptyDisk: {capacity: 96Mi}}
  - {name: usb, emptyDisk: {capacity: 32Mi}}
  - {name: cloudinit, cloudInitNoCloud: {userData: "#!/bin/sh\\necho hi"}}
  - {name: scsicd, emptyDisk: {capacity: 2Mi}}
`;

export const SEED_TEXTS: readonly string[] = [CIRROS_YAML, SEVERAL_DISKS, KERNEL_BOOT, CONFIG_DRIVE_VM, CPU_FROM_RESOURCES, HALTED_VM, DISK_BUSES];

/** The seeds as objects (each text holds one). */
export const SEEDS: readonly Json[] = SEED_TEXTS.map((t) => parse(t) as Json);

/** A manifest of several documents, as `kubectl apply -f` takes them. */
export const MULTI_DOC_TEXT = [CIRROS_YAML, SEVERAL_DISKS, HALTED_VM].join('\n---\n');
