// The handler's /metrics: KubeVirt's names and labels for what virt-handler (and,
// for kubevirt_vmi_info, phase counts and the launcher overhead, virt-controller)
// exports about the VMIs of a node, from virtnode's domain stats. Units are
// KubeVirt's: seconds and bytes. Where KubeVirt's value is an estimate
// (kubevirt_vmi_launcher_memory_overhead_bytes), virtnode's is measured: the
// launcher's PSS, read from /proc. test/unit/metrics-names.test.ts holds every
// kubevirt_* name and type here to KubeVirt's own metric list.

import type { DomainStats__Output } from '../../proto/generated/virtnode/handler/v1/DomainStats.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import { Family, renderFamilies, type MetricType } from './exposition.js';

const VMI = ['node', 'namespace', 'name'] as const;

interface Def {
  type: MetricType;
  help: string;
  labels: readonly string[];
}

/** Every family /metrics exports, by name. */
export const METRICS = {
  kubevirt_virt_handler_uptime_seconds: { type: 'gauge', help: 'How long this handler has been running, in seconds.', labels: ['node'] },
  kubevirt_vmi_phase_count: { type: 'gauge', help: 'VMIs on this node, by phase (lowercase, as KubeVirt labels it).', labels: ['node', 'phase'] },
  kubevirt_vmi_info: {
    type: 'gauge',
    help: 'Information about VirtualMachineInstances.',
    labels: [...VMI, 'phase', 'os', 'workload', 'flavor', 'instance_type', 'preference', 'guest_os_kernel_release', 'guest_os_machine', 'guest_os_arch', 'guest_os_name', 'guest_os_version_id', 'evictable', 'outdated', 'vmi_pod'],
  },
  kubevirt_vmi_launcher_memory_overhead_bytes: {
    type: 'gauge',
    help: "Memory the VMI's infrastructure beside QEMU uses: its launcher's proportional set size (PSS), measured from /proc/<pid>/smaps_rollup at most four scrapes ago.",
    labels: ['namespace', 'name'],
  },
  virtnode_vmi_launcher_pss_bytes: { type: 'gauge', help: "The launcher's proportional set size (/proc/<pid>/smaps_rollup Pss, read at most four scrapes ago).", labels: VMI },
  virtnode_vmi_launcher_cpu_usage_seconds_total: { type: 'counter', help: "CPU time the launcher has used, user and system (/proc/<pid>/stat).", labels: VMI },

  kubevirt_vmi_cpu_usage_seconds_total: { type: 'counter', help: 'Total CPU time spent in all modes (sum of both vcpu and hypervisor usage).', labels: VMI },
  kubevirt_vmi_cpu_user_usage_seconds_total: { type: 'counter', help: 'Total CPU time spent in user mode.', labels: VMI },
  kubevirt_vmi_cpu_system_usage_seconds_total: { type: 'counter', help: 'Total CPU time spent in system mode.', labels: VMI },
  kubevirt_vmi_vcpu_seconds_total: { type: 'counter', help: "Total amount of time spent by each vcpu's thread on a host CPU.", labels: [...VMI, 'id', 'state'] },
  kubevirt_vmi_vcpu_delay_seconds_total: { type: 'counter', help: 'Amount of time spent by each vcpu waiting in the queue instead of running.', labels: [...VMI, 'id'] },

  kubevirt_vmi_memory_resident_bytes: { type: 'gauge', help: 'Resident set size of the process running the domain.', labels: VMI },
  kubevirt_vmi_memory_domain_bytes: { type: 'gauge', help: 'The amount of memory in bytes allocated to the domain.', labels: VMI },
  kubevirt_vmi_memory_actual_balloon_bytes: { type: 'gauge', help: 'Current balloon size in bytes.', labels: VMI },
  kubevirt_vmi_memory_available_bytes: { type: 'gauge', help: 'Amount of usable memory as seen by the domain (the guest balloon driver\'s total memory).', labels: VMI },
  kubevirt_vmi_memory_unused_bytes: { type: 'gauge', help: 'The amount of memory left completely unused by the guest (MemFree).', labels: VMI },
  kubevirt_vmi_memory_usable_bytes: { type: 'gauge', help: "The amount of memory which can be reclaimed by balloon without pushing the guest system to swap (MemAvailable).", labels: VMI },
  kubevirt_vmi_memory_cached_bytes: { type: 'gauge', help: 'The amount of guest memory used to cache I/O and available to be reclaimed.', labels: VMI },
  kubevirt_vmi_memory_swap_in_traffic_bytes: { type: 'gauge', help: 'The total amount of data read from swap space of the guest in bytes.', labels: VMI },
  kubevirt_vmi_memory_swap_out_traffic_bytes: { type: 'gauge', help: 'The total amount of memory written out to swap space of the guest in bytes.', labels: VMI },
  kubevirt_vmi_memory_pgmajfault_total: { type: 'counter', help: 'The number of page faults in the guest when disk IO was required.', labels: VMI },
  kubevirt_vmi_memory_pgminfault_total: { type: 'counter', help: 'The number of other page faults in the guest, when disk IO was not required.', labels: VMI },

  kubevirt_vmi_network_receive_bytes_total: { type: 'counter', help: 'Total network traffic received in bytes.', labels: [...VMI, 'interface'] },
  kubevirt_vmi_network_transmit_bytes_total: { type: 'counter', help: 'Total network traffic transmitted in bytes.', labels: [...VMI, 'interface'] },
  kubevirt_vmi_network_receive_packets_total: { type: 'counter', help: 'Total network traffic received packets.', labels: [...VMI, 'interface'] },
  kubevirt_vmi_network_transmit_packets_total: { type: 'counter', help: 'Total network traffic transmitted packets.', labels: [...VMI, 'interface'] },
  kubevirt_vmi_network_receive_errors_total: { type: 'counter', help: 'Total network received error packets.', labels: [...VMI, 'interface'] },
  kubevirt_vmi_network_transmit_errors_total: { type: 'counter', help: 'Total network transmitted error packets.', labels: [...VMI, 'interface'] },
  kubevirt_vmi_network_receive_packets_dropped_total: { type: 'counter', help: 'The total number of rx packets dropped on vNIC interfaces.', labels: [...VMI, 'interface'] },
  kubevirt_vmi_network_transmit_packets_dropped_total: { type: 'counter', help: 'The total number of tx packets dropped on vNIC interfaces.', labels: [...VMI, 'interface'] },

  kubevirt_vmi_storage_read_traffic_bytes_total: { type: 'counter', help: 'Total number of bytes read from storage.', labels: [...VMI, 'drive'] },
  kubevirt_vmi_storage_write_traffic_bytes_total: { type: 'counter', help: 'Total number of written bytes.', labels: [...VMI, 'drive'] },
  kubevirt_vmi_storage_iops_read_total: { type: 'counter', help: 'Total number of I/O read operations.', labels: [...VMI, 'drive'] },
  kubevirt_vmi_storage_iops_write_total: { type: 'counter', help: 'Total number of I/O write operations.', labels: [...VMI, 'drive'] },
  kubevirt_vmi_storage_read_times_seconds_total: { type: 'counter', help: 'Total time spent on read operations.', labels: [...VMI, 'drive'] },
  kubevirt_vmi_storage_write_times_seconds_total: { type: 'counter', help: 'Total time spent on write operations.', labels: [...VMI, 'drive'] },
  kubevirt_vmi_storage_flush_requests_total: { type: 'counter', help: 'Total storage flush requests.', labels: [...VMI, 'drive'] },
  kubevirt_vmi_storage_flush_times_seconds_total: { type: 'counter', help: 'Total time spent on cache flushing.', labels: [...VMI, 'drive'] },
} as const satisfies Record<string, Def>;

export type MetricName = keyof typeof METRICS;

const NONE = '<none>';
const NS = 1e-9;

export interface MetricsInput {
  node: string;
  uptimeSeconds: number;
  /** Every VMI of this node, whatever its phase. */
  vmis: VirtualMachineInstance[];
  /** Domain stats of the running ones, by "<namespace>/<name>". */
  stats: Map<string, DomainStats__Output>;
}

/** The whole /metrics page. */
export function renderMetrics(input: MetricsInput): string {
  const fam = {} as Record<MetricName, Family>;
  for (const [name, d] of Object.entries(METRICS) as [MetricName, Def][]) fam[name] = new Family(name, d.type, d.help, d.labels);
  const { node } = input;
  fam.kubevirt_virt_handler_uptime_seconds.add([node], input.uptimeSeconds);

  const phases = new Map<string, number>();
  for (const vmi of input.vmis) {
    const phase = (vmi.status?.phase ?? 'Pending').toLowerCase();
    phases.set(phase, (phases.get(phase) ?? 0) + 1);
    const labels = vmi.metadata.labels ?? {};
    const annotations = vmi.metadata.annotations ?? {};
    fam.kubevirt_vmi_info.add(
      [
        node,
        vmi.metadata.namespace ?? 'default',
        vmi.metadata.name,
        phase,
        annotations['vm.kubevirt.io/os'] ?? labels['kubevirt.io/os'] ?? NONE,
        annotations['vm.kubevirt.io/workload'] ?? NONE,
        annotations['vm.kubevirt.io/flavor'] ?? NONE,
        labels['kubevirt.io/instancetype-name'] ?? labels['kubevirt.io/cluster-instancetype-name'] ?? NONE,
        labels['kubevirt.io/preference-name'] ?? labels['kubevirt.io/cluster-preference-name'] ?? NONE,
        // guestOSInfo comes from the guest agent, which virtnode does not speak to yet.
        NONE,
        NONE,
        NONE,
        NONE,
        NONE,
        // No live migration on a single node: nothing blocks an eviction.
        'true',
        'false',
        NONE,
      ],
      1,
    );
  }
  for (const [phase, n] of [...phases].sort()) fam.kubevirt_vmi_phase_count.add([node, phase], n);

  for (const s of input.stats.values()) {
    const id = [node, s.namespace, s.name];
    if (s.launcher) {
      fam.kubevirt_vmi_launcher_memory_overhead_bytes.add([s.namespace, s.name], s.launcher.pssBytes);
      fam.virtnode_vmi_launcher_pss_bytes.add(id, s.launcher.pssBytes);
      fam.virtnode_vmi_launcher_cpu_usage_seconds_total.add(id, s.launcher.cpuNs * NS);
    }
    if (s.cpu) {
      fam.kubevirt_vmi_cpu_usage_seconds_total.add(id, s.cpu.timeNs * NS);
      fam.kubevirt_vmi_cpu_user_usage_seconds_total.add(id, s.cpu.userNs * NS);
      fam.kubevirt_vmi_cpu_system_usage_seconds_total.add(id, s.cpu.systemNs * NS);
    }
    for (const v of s.vcpus) {
      // libvirt (and so KubeVirt) calls an online vCPU "running" whether or not it is on a host CPU now.
      fam.kubevirt_vmi_vcpu_seconds_total.add([...id, String(v.id), 'running'], v.timeNs * NS);
      fam.kubevirt_vmi_vcpu_delay_seconds_total.add([...id, String(v.id)], v.delayNs * NS);
    }
    const m = s.memory;
    if (m) {
      const gauge = (f: Family, v: number): void => {
        if (v >= 0) f.add(id, v);
      };
      gauge(fam.kubevirt_vmi_memory_resident_bytes, m.residentBytes);
      gauge(fam.kubevirt_vmi_memory_domain_bytes, m.domainBytes);
      gauge(fam.kubevirt_vmi_memory_actual_balloon_bytes, m.actualBalloonBytes);
      gauge(fam.kubevirt_vmi_memory_available_bytes, m.availableBytes);
      gauge(fam.kubevirt_vmi_memory_unused_bytes, m.unusedBytes);
      gauge(fam.kubevirt_vmi_memory_usable_bytes, m.usableBytes);
      gauge(fam.kubevirt_vmi_memory_cached_bytes, m.cachedBytes);
      gauge(fam.kubevirt_vmi_memory_swap_in_traffic_bytes, m.swapInBytes);
      gauge(fam.kubevirt_vmi_memory_swap_out_traffic_bytes, m.swapOutBytes);
      gauge(fam.kubevirt_vmi_memory_pgmajfault_total, m.majorFaults);
      gauge(fam.kubevirt_vmi_memory_pgminfault_total, m.minorFaults);
    }
    for (const i of s.interfaces) {
      const l = [...id, i.name];
      fam.kubevirt_vmi_network_receive_bytes_total.add(l, i.rxBytes);
      fam.kubevirt_vmi_network_transmit_bytes_total.add(l, i.txBytes);
      fam.kubevirt_vmi_network_receive_packets_total.add(l, i.rxPackets);
      fam.kubevirt_vmi_network_transmit_packets_total.add(l, i.txPackets);
      fam.kubevirt_vmi_network_receive_errors_total.add(l, i.rxErrors);
      fam.kubevirt_vmi_network_transmit_errors_total.add(l, i.txErrors);
      fam.kubevirt_vmi_network_receive_packets_dropped_total.add(l, i.rxDropped);
      fam.kubevirt_vmi_network_transmit_packets_dropped_total.add(l, i.txDropped);
    }
    for (const b of s.blocks) {
      const l = [...id, b.drive];
      fam.kubevirt_vmi_storage_read_traffic_bytes_total.add(l, b.rdBytes);
      fam.kubevirt_vmi_storage_write_traffic_bytes_total.add(l, b.wrBytes);
      fam.kubevirt_vmi_storage_iops_read_total.add(l, b.rdOperations);
      fam.kubevirt_vmi_storage_iops_write_total.add(l, b.wrOperations);
      fam.kubevirt_vmi_storage_read_times_seconds_total.add(l, b.rdTotalTimeNs * NS);
      fam.kubevirt_vmi_storage_write_times_seconds_total.add(l, b.wrTotalTimeNs * NS);
      fam.kubevirt_vmi_storage_flush_requests_total.add(l, b.flushOperations);
      fam.kubevirt_vmi_storage_flush_times_seconds_total.add(l, b.flushTotalTimeNs * NS);
    }
  }
  return renderFamilies(Object.values(fam));
}
