// `virtnode stats VM`: one running VMI's domain stats as a person reads them (or
// as JSON/YAML with -o). Loaded only by that verb.

import type { DomainStats__Output } from '../../proto/generated/virtnode/handler/v1/DomainStats.js';

const KIB = 1024;

function bytes(n: number): string {
  if (n < 0) return '-';
  if (n < KIB) return `${n}B`;
  const units = ['Ki', 'Mi', 'Gi', 'Ti'];
  let v = n / KIB;
  let u = 0;
  while (v >= KIB && u < units.length - 1) {
    v /= KIB;
    u++;
  }
  return `${v.toFixed(1)}${units[u]}`;
}

function seconds(ns: number): string {
  return `${(ns / 1e9).toFixed(3)}s`;
}

function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]! + 3))).join('').trimEnd()).join('\n') + '\n';
}

export function formatDomainStats(s: DomainStats__Output): string {
  let out = `VMI:      ${s.namespace}/${s.name}\nQEMU pid: ${s.qemuPid || '-'}\n`;
  if (s.cpu) out += `CPU:      ${seconds(s.cpu.timeNs)} (user ${seconds(s.cpu.userNs)}, system ${seconds(s.cpu.systemNs)})\n`;
  const m = s.memory;
  if (m) {
    out += `Memory:   domain ${bytes(m.domainBytes)}, balloon ${bytes(m.actualBalloonBytes)}, QEMU RSS ${bytes(m.residentBytes)}\n`;
    out +=
      m.guestStatsUpdated > 0
        ? `Guest:    total ${bytes(m.availableBytes)}, available ${bytes(m.usableBytes)}, free ${bytes(m.unusedBytes)}, caches ${bytes(m.cachedBytes)} (reported ${new Date(m.guestStatsUpdated * 1000).toISOString()})\n`
        : 'Guest:    no report from the balloon driver yet\n';
  }
  if (s.launcher) out += `Launcher: pid ${s.launcher.pid}, PSS ${bytes(s.launcher.pssBytes)}, RSS ${bytes(s.launcher.rssBytes)}, CPU ${seconds(s.launcher.cpuNs)}\n`;
  out += '\n' + table(['VCPU', 'THREAD', 'TIME', 'DELAY'], s.vcpus.map((v) => [String(v.id), String(v.threadId), seconds(v.timeNs), seconds(v.delayNs)]));
  if (s.blocks.length) {
    out +=
      '\n' +
      table(
        ['DRIVE', 'TARGET', 'RD BYTES', 'RD OPS', 'RD TIME', 'WR BYTES', 'WR OPS', 'WR TIME', 'FLUSHES', 'FLUSH TIME'],
        s.blocks.map((b) => [b.drive, b.target, String(b.rdBytes), String(b.rdOperations), seconds(b.rdTotalTimeNs), String(b.wrBytes), String(b.wrOperations), seconds(b.wrTotalTimeNs), String(b.flushOperations), seconds(b.flushTotalTimeNs)]),
      );
  }
  if (s.interfaces.length) {
    out +=
      '\n' +
      table(
        ['INTERFACE', 'TAP', 'RX BYTES', 'RX PKTS', 'RX ERRS', 'RX DROP', 'TX BYTES', 'TX PKTS', 'TX ERRS', 'TX DROP'],
        s.interfaces.map((i) => [i.name, i.tap, String(i.rxBytes), String(i.rxPackets), String(i.rxErrors), String(i.rxDropped), String(i.txBytes), String(i.txPackets), String(i.txErrors), String(i.txDropped)]),
      );
  }
  return out;
}
