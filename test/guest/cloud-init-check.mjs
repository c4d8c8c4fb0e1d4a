// Checks the test guest's cloud-init-lite on bare QEMU (TCG), without the handler:
// builds NoCloud / ConfigDrive ISOs with genisoimage, boots disk.qcow2 (through a
// throw-away qcow2 overlay) with the ISO as a second virtio disk, reads the
// "cloud-init: ..." lines off the serial console and logs in to look at the result.
//
//   node test/guest/cloud-init-check.mjs [scenario...]   (default: all; see SCENARIOS)
//   node test/guest/cloud-init-check.mjs timing [runs]   boot-to-login times
//
// Every boot holds /tmp/vn-boot.lock (flock) so boots on this shared machine never
// overlap. Needs root, qemu-system-x86_64, genisoimage and a built guest
// (bash test/guest/build.sh; $VIRTNODE_GUEST_CACHE is honoured).
import { spawn, execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cache = process.env.VIRTNODE_GUEST_CACHE ?? join(here, '.cache');
const disk = process.env.GUEST_DISK ?? join(cache, 'disk.qcow2');
const LOCK = '/tmp/vn-boot.lock';
const MEMORY = process.env.GUEST_MEMORY ?? '64000000b'; // the seed VM's 64M
const work = mkdtempSync(join(tmpdir(), 'vn-cloud-init-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MAC0 = '52:54:00:12:34:56';
const MAC1 = '52:54:00:ab:cd:ef';

function overlay(name) {
  const p = join(work, `${name}.qcow2`);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', disk, p]);
  return p;
}

/** An ISO labelled `label` holding `files` (path → content). */
function iso(name, label, files) {
  const dir = join(work, `${name}.d`);
  for (const [p, data] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), data);
  }
  const out = join(work, `${name}.iso`);
  execFileSync('genisoimage', ['-quiet', '-output', out, '-volid', label, '-joliet', '-rock', dir]);
  return out;
}

let boots = 0;

class Boot {
  out = '';
  lockedAt = 0;
  loginAt = 0;

  /** opts: { disk, isos: [] (virtio disks), cdroms: [] (virtio-scsi), nics: [{ mac, net }], kernelBoot, memory } */
  constructor(opts) {
    this.pidfile = join(work, `qemu-${++boots}.pid`);
    const args = ['-pidfile', this.pidfile, '-machine', 'q35,accel=tcg', '-cpu', 'qemu64,+arat', '-m', opts.memory ?? MEMORY,
      '-nodefaults', '-no-user-config', '-display', 'none', '-chardev', 'stdio,id=s0,signal=off', '-serial', 'chardev:s0'];
    if (opts.kernelBoot) {
      args.push('-kernel', join(cache, 'vmlinuz'), '-initrd', join(cache, 'initrd.img'), '-append',
        execFileSync('cat', [join(cache, 'kernel-args')]).toString().trim());
    } else {
      args.push('-drive', `file=${opts.disk},if=virtio,format=qcow2`);
    }
    for (const i of opts.isos ?? []) args.push('-drive', `file=${i},if=virtio,format=raw,readonly=on`);
    if (opts.cdroms?.length) args.push('-device', 'virtio-scsi-pci,id=scsi0');
    (opts.cdroms ?? []).forEach((c, n) => {
      args.push('-drive', `if=none,id=cd${n},file=${c},format=raw,readonly=on,media=cdrom`, '-device', `scsi-cd,bus=scsi0.0,drive=cd${n}`);
    });
    (opts.nics ?? []).forEach((n, i) => {
      args.push('-netdev', `user,id=n${i},net=${n.net ?? '10.0.2.0/24'}`, '-device', `virtio-net-pci,netdev=n${i},mac=${n.mac}`);
    });
    // The marker on stderr says the lock is ours: boot time counts from there.
    this.proc = spawn('flock', [LOCK, 'sh', '-c', 'echo VN-LOCKED >&2; exec timeout 90 qemu-system-x86_64 "$@"', 'sh', ...args],
      { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (d) => {
      this.out += d.toString('latin1');
      if (!this.loginAt && /login: $/.test(this.out)) this.loginAt = performance.now();
    });
    let err = '';
    this.proc.stderr.on('data', (d) => {
      err += d.toString();
      for (let nl; (nl = err.indexOf('\n')) >= 0; err = err.slice(nl + 1)) {
        const line = err.slice(0, nl);
        if (line === 'VN-LOCKED') this.lockedAt ||= performance.now();
        else if (!/terminating on signal/.test(line)) process.stderr.write(`qemu: ${line}\n`);
      }
    });
    this.exited = new Promise((r) => this.proc.on('exit', r));
  }

  /** Waits for the boot lock (others' boots may hold it for minutes), then for the login prompt. */
  async booted() {
    while (!this.lockedAt) {
      if (this.proc.exitCode !== null) throw new Error('flock/qemu exited before the boot started');
      await sleep(100);
    }
    await this.expect(/login: $/, 60_000);
  }

  async expect(re, timeoutMs = 60_000, from = 0) {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = this.out.slice(from).match(re);
      if (m) return m;
      if (this.proc.exitCode !== null || Date.now() > end) {
        throw new Error(`no ${re} on the console; tail:\n${this.out.slice(-1500)}`);
      }
      await sleep(20);
    }
  }

  send(s) { this.proc.stdin.write(s); }

  /** Logs in; false when the password is refused. */
  async login(user, password) {
    await this.expect(/login: $/, 60_000);
    const at = this.out.length;
    this.send(`${user}\r`);
    await this.expect(/Password: $/, 20_000, at);
    const at2 = this.out.length;
    this.send(`${password}\r`);
    const m = await this.expect(/([$#] (\x1b\[6n)?$)|(Login incorrect)/, 20_000, at2);
    return !m[3];
  }

  async run(cmd) {
    const tag = Math.random().toString(36).slice(2, 8);
    const from = this.out.length;
    this.send(`echo B${tag}; ${cmd}; echo E${tag}\r`);
    const m = await this.expect(new RegExp(`\\nB${tag}\\r?\\n([\\s\\S]*?)E${tag}`), 20_000, from);
    return m[1].replace(/\r/g, '');
  }

  /** The cloud-init lines (and the user scripts' output between them). */
  cloudInitLines() {
    const lines = this.out.replace(/\r/g, '').split('\n');
    const first = lines.findIndex((l) => l.startsWith('cloud-init: '));
    const last = lines.findLastIndex((l) => l.startsWith('cloud-init: '));
    return first < 0 ? [] : lines.slice(first, last + 1);
  }

  bootSeconds() { return (this.loginAt - this.lockedAt) / 1000; }

  /** Ends QEMU itself (flock neither forwards signals nor kills its child), then the lock goes with it. */
  async stop() {
    if (this.proc.exitCode !== null) return;
    let pid = 0;
    // Once the lock is ours QEMU is starting: give it a moment to write its pid.
    for (let i = 0; !pid && i < (this.lockedAt ? 50 : 1); i++) {
      try { pid = Number(readFileSync(this.pidfile, 'utf8').trim()); } catch { await sleep(50); }
    }
    if (pid) {
      try { process.kill(pid, 'SIGTERM'); } catch { /* gone already */ }
    } else {
      this.proc.kill('SIGTERM'); // still waiting for the lock: nothing runs yet
    }
    await this.exited;
  }
}

async function boot(name, opts, check) {
  const b = new Boot(opts);
  try {
    await b.booted();
    console.log(`--- ${name}: login prompt after ${b.bootSeconds().toFixed(2)} s`);
    for (const l of b.cloudInitLines()) console.log(`    ${l}`);
    if (check) await check(b);
    return b;
  } finally {
    await b.stop();
  }
}

let failures = 0;
function ok(cond, what) {
  console.log(`    ${cond ? 'ok  ' : 'FAIL'} ${what}`);
  if (!cond) failures++;
}
const has = (b, line) => b.cloudInitLines().includes(line);

const metaNoCloud = (iid, host) => JSON.stringify({ 'instance-id': iid, 'local-hostname': host });

const SCENARIOS = {
  // A #! script runs on the first boot of an instance only.
  async script() {
    const d = overlay('script');
    const i = iso('script', 'cidata', {
      'meta-data': metaNoCloud('1b4a0c36-5a0e-4a7e-8d0f-9d2c6b0e7f11', 'scriptvm'),
      'user-data': '#!/bin/sh\necho "SCRIPT-MARKER uid=$(id -u) pwd=$PWD"\necho ran >>/root/script-runs\n',
    });
    await boot('script, first boot', { disk: d, isos: [i] }, async (b) => {
      ok(has(b, 'cloud-init: datasource NoCloud on /dev/vdb'), 'datasource line');
      ok(has(b, 'cloud-init: instance-id 1b4a0c36-5a0e-4a7e-8d0f-9d2c6b0e7f11 (first boot)'), 'first boot');
      ok(has(b, 'SCRIPT-MARKER uid=0 pwd=/'), 'script output');
      ok(has(b, 'cloud-init: user-data script ran (exit 0)'), 'script ran');
      ok(has(b, 'cloud-init: hostname scriptvm'), 'hostname line');
      ok(await b.login('root', 'gocubsgo'), 'root login');
      ok((await b.run('hostname')).trim() === 'scriptvm', 'hostname is scriptvm');
      ok((await b.run('grep -c "^isofs " /proc/modules')).trim() === '0', 'isofs unloaded again');
    });
    await boot('script, second boot (same instance)', { disk: d, isos: [i] }, async (b) => {
      ok(has(b, 'cloud-init: instance-id 1b4a0c36-5a0e-4a7e-8d0f-9d2c6b0e7f11 (seen before)'), 'seen before');
      ok(!b.out.includes('SCRIPT-MARKER'), 'script not run again');
      ok(has(b, 'cloud-init: user-script already ran for this instance'), 'said so');
      ok(await b.login('root', 'gocubsgo'), 'root login');
      ok((await b.run('cat /root/script-runs')).trim() === 'ran', 'script ran exactly once');
    });
    const i2 = iso('script2', 'cidata', {
      'meta-data': metaNoCloud('2c5b1d47-0000-4000-8000-000000000002', 'scriptvm'),
      'user-data': '#!/bin/sh\necho "SCRIPT-MARKER again"\necho ran >>/root/script-runs\n',
    });
    await boot('script, new instance id on the same disk', { disk: d, isos: [i2] }, async (b) => {
      ok(has(b, 'cloud-init: instance-id 2c5b1d47-0000-4000-8000-000000000002 (first boot)'), 'first boot of new id');
      ok(has(b, 'SCRIPT-MARKER again'), 'script ran for the new instance');
    });
  },

  // #cloud-config: password, chpasswd, hostname, ssh keys, runcmd, bootcmd,
  // write_files; network-config v1 with a static eth0.
  async cloudconfig() {
    const d = overlay('cc');
    const userData = `#cloud-config
password: 'n3w\\Pass''word'
chpasswd: { expire: False }
hostname: ccvm
ssh_authorized_keys:
  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey1 one@test
  - ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQKey2 two@test
bootcmd:
  - echo bootcmd-ran >>/run/bootcmd-runs
runcmd:
  - echo "runcmd-1 $(hostname)" > /run/runcmd-1
  - [ sh, -c, "echo runcmd-2 'quoted arg' > /run/runcmd-2" ]
write_files:
  - path: /etc/cc/hello.txt
    content: |
      hello from cloud-config
        indented line
    permissions: '0640'
    owner: cirros:cirros
  - path: /etc/cc/b64.bin
    encoding: b64
    content: YmFzZTY0IGNvbnRlbnQK
packages: [nginx]
users: [default]
`;
    const networkConfig = `version: 1
config:
  - type: physical
    name: eth0
    mac_address: "${MAC0}"
    subnets:
      - type: static
        address: 10.0.2.50/24
        gateway: 10.0.2.2
        dns_nameservers: [10.0.2.3]
`;
    const i = iso('cc', 'cidata', {
      'meta-data': metaNoCloud('cc000000-0000-4000-8000-000000000001', 'metaname'),
      'user-data': userData,
      'network-config': networkConfig,
    });
    await boot('cloud-config + network v1 static, first boot', { disk: d, isos: [i], nics: [{ mac: MAC0 }] }, async (b) => {
      for (const l of ['cloud-init: hostname ccvm', 'cloud-init: eth0 static 10.0.2.50/24', 'cloud-init: eth0 gateway 10.0.2.2',
        'cloud-init: write_files /etc/cc/hello.txt', 'cloud-init: write_files /etc/cc/b64.bin', 'cloud-init: password set for cirros',
        'cloud-init: runcmd 2 commands', 'cloud-init: runcmd ran (exit 0)', 'cloud-init: skipped packages', 'cloud-init: skipped users',
        'cloud-init: bootcmd 1 command', 'cloud-init: done']) ok(has(b, l), l);
      ok(!(await b.login('cirros', 'gocubsgo')), 'old password refused');
      ok(await b.login('cirros', "n3w\\Pass'word"), 'cirros logs in with the new password');
      ok((await b.run('hostname')).trim() === 'ccvm', 'hostname ccvm');
      const addr = await b.run('ip -4 addr show eth0');
      ok(addr.includes('inet 10.0.2.50/24'), `eth0 has 10.0.2.50/24 (${addr.match(/inet \S+/)?.[0]})`);
      ok((await b.run('ip route')).includes('default via 10.0.2.2 dev eth0'), 'default route');
      ok((await b.run('ps | grep -c "[u]dhcpc"')).trim() === '0', 'no udhcpc on the static eth0');
      ok((await b.run('cat /etc/resolv.conf')).includes('nameserver 10.0.2.3'), 'resolv.conf');
      ok((await b.run('ls -ln /etc/cc/hello.txt')).startsWith('-rw-r-----    1 1000     1000'), 'hello.txt mode 0640, cirros');
      ok((await b.run('cat /etc/cc/hello.txt')) === 'hello from cloud-config\n  indented line\n', 'hello.txt content');
      ok((await b.run('cat /etc/cc/b64.bin')) === 'base64 content\n', 'b64 content decoded');
      ok((await b.run('cat /run/runcmd-1 /run/runcmd-2')) === 'runcmd-1 ccvm\nruncmd-2 quoted arg\n', 'runcmd outputs');
      ok((await b.run('cat /run/bootcmd-runs')) === 'bootcmd-ran\n', 'bootcmd ran');
      ok((await b.run('ls -lnd ~/.ssh ~/.ssh/authorized_keys | cut -c1-30')).replace(/ +/g, ' ').includes('drwx------ 2 1000 1000'), '.ssh 0700');
      ok((await b.run('wc -l < ~/.ssh/authorized_keys')).trim() === '2', 'two keys');
    });
    await boot('cloud-config, second boot (same instance)', { disk: d, isos: [i], nics: [{ mac: MAC0 }] }, async (b) => {
      ok(has(b, 'cloud-init: instance-id cc000000-0000-4000-8000-000000000001 (seen before)'), 'seen before');
      ok(has(b, 'cloud-init: runcmd already ran for this instance'), 'runcmd not again');
      ok(has(b, 'cloud-init: write_files already ran for this instance'), 'write_files not again');
      ok(has(b, 'cloud-init: set_passwords already ran for this instance'), 'passwords not again');
      ok(has(b, 'cloud-init: bootcmd ran (exit 0)'), 'bootcmd runs every boot');
      ok(has(b, 'cloud-init: eth0 static 10.0.2.50/24'), 'network every boot');
      ok(await b.login('cirros', "n3w\\Pass'word"), 'password kept');
      ok(!(await b.run('ls /run')).includes('runcmd-1'), 'runcmd did not run');
    });
  },

  // network-config v2: eth0 by MAC with dhcp4 (slirp answers), eth1 static by name.
  async netv2() {
    const d = overlay('v2');
    const i = iso('v2', 'cidata', {
      'meta-data': 'instance-id: iid-v2\nlocal-hostname: v2vm\n',
      'user-data': '',
      'network-config': `network:
  version: 2
  ethernets:
    first:
      match:
        macaddress: "${MAC0}"
      dhcp4: true
    eth1:
      addresses: [192.168.50.7/24]
      routes:
        - to: 192.168.60.0/24
          via: 192.168.50.1
`,
    });
    await boot('network v2', { disk: d, isos: [i], nics: [{ mac: MAC0 }, { mac: MAC1, net: '192.168.50.0/24' }] }, async (b) => {
      for (const l of ['cloud-init: eth1 static 192.168.50.7/24', 'cloud-init: eth1 route 192.168.60.0/24 via 192.168.50.1',
        'cloud-init: eth0 dhcp', 'cloud-init: no user-data']) ok(has(b, l), l);
      ok(await b.login('root', 'gocubsgo'), 'root login');
      let a0 = '';
      for (let t = 0; t < 20 && !a0.includes('inet 10.0.2.15'); t++) { a0 = await b.run('ip -4 addr show eth0'); await sleep(250); }
      ok(a0.includes('inet 10.0.2.15/24'), 'eth0 got a DHCP lease');
      ok((await b.run('ip -4 addr show eth1')).includes('inet 192.168.50.7/24'), 'eth1 static');
      ok((await b.run('ps | grep "[u]dhcpc" | grep -c eth1')).trim() === '0', 'no udhcpc on eth1');
    });
  },

  // ConfigDrive: openstack/latest/{meta_data.json,user_data,network_data.json}.
  async configdrive() {
    const d = overlay('cfgdrive');
    const i = iso('cfgdrive', 'config-2', {
      'openstack/latest/meta_data.json': JSON.stringify({ instance_id: 'cdvm.default', hostname: 'cdvm', uuid: '9a3e6f0c-1111-4222-8333-444455556666' }),
      'openstack/latest/user_data': '#cloud-config\nwrite_files:\n  - path: /root/cd.txt\n    content: from config drive\nruncmd:\n  - echo CD-RUNCMD\n',
      'openstack/latest/network_data.json': JSON.stringify({
        links: [{ id: 'tap0', type: 'phy', ethernet_mac_address: MAC0 }],
        networks: [{ id: 'n0', link: 'tap0', type: 'ipv4', ip_address: '10.0.2.60', netmask: '255.255.255.0',
          routes: [{ network: '0.0.0.0', netmask: '0.0.0.0', gateway: '10.0.2.2' }] }],
        services: [{ type: 'dns', address: '10.0.2.3' }],
      }),
    });
    await boot('ConfigDrive, first boot', { disk: d, isos: [i], nics: [{ mac: MAC0 }] }, async (b) => {
      for (const l of ['cloud-init: datasource ConfigDrive on /dev/vdb', 'cloud-init: instance-id 9a3e6f0c-1111-4222-8333-444455556666 (first boot)',
        'cloud-init: hostname cdvm', 'cloud-init: eth0 static 10.0.2.60/24', 'cloud-init: eth0 gateway 10.0.2.2',
        'cloud-init: write_files /root/cd.txt', 'CD-RUNCMD', 'cloud-init: runcmd ran (exit 0)']) ok(has(b, l), l);
      ok(await b.login('root', 'gocubsgo'), 'root login');
      ok((await b.run('cat /root/cd.txt')) === 'from config drive', 'file written');
    });
    await boot('ConfigDrive, second boot', { disk: d, isos: [i], nics: [{ mac: MAC0 }] }, async (b) => {
      ok(has(b, 'cloud-init: instance-id 9a3e6f0c-1111-4222-8333-444455556666 (seen before)'), 'seen before');
      ok(!b.out.includes('CD-RUNCMD'), 'runcmd not again');
    });
  },

  // No cloud-init ISO at all, and an ISO with another label.
  async none() {
    await boot('no datasource', { disk: overlay('none'), nics: [{ mac: MAC0 }] }, async (b) => {
      ok(b.cloudInitLines().join('\n') === 'cloud-init: no datasource', 'only "no datasource"');
      ok(await b.login('cirros', 'gocubsgo'), 'default password');
    });
    const other = iso('other', 'DATA', { 'meta-data': metaNoCloud('x', 'y') });
    await boot('ISO labelled DATA', { disk: overlay('other'), isos: [other] }, async (b) => {
      ok(b.cloudInitLines().join('\n') === 'cloud-init: no datasource', 'only "no datasource"');
    });
  },

  // Gzipped user-data; chpasswd list with a plain and a hashed password; write_files
  // append and gz+b64; quoting in runcmd; preserve_hostname. Then multipart user-data.
  async edge() {
    const d = overlay('edge');
    const hash = execFileSync(join(cache, 'pkgroot', 'bin', 'busybox'), ['mkpasswd', '-m', 'sha512', 'hashpw', 'saltsalt']).toString().trim();
    const cc = `#cloud-config
preserve_hostname: true
hostname: ignored
chpasswd:
  expire: true
  list: |
    cirros:${hash}
    nobody:x
  users:
    - {name: root, password: 'r00t\\pw', type: text}
write_files:
  - path: /root/app.txt
    content: "line1\\n"
  - path: /root/app.txt
    content: "line2\\n"
    append: true
  - path: /root/gz.txt
    encoding: gz+b64
    content: ${gzipSync('gzipped content\n').toString('base64')}
  - path: /root/bs.txt
    content: 'back\\slash $HOME \`x\` "q" it''s'
    permissions: "0600"
runcmd:
  - [sh, -c, 'printf "%s\\n" "a\\\\b c" > /root/rc.txt']
  - echo "it's" >> /root/rc.txt
`;
    const i = iso('edge', 'cidata', { 'meta-data': metaNoCloud('edge-1', 'edgevm'), 'user-data': gzipSync(cc) });
    await boot('gzipped cloud-config, chpasswd list, write_files append/gz+b64', { disk: d, isos: [i] }, async (b) => {
      for (const l of ['cloud-init: hostname preserved', 'cloud-init: password set for root', 'cloud-init: password set for cirros',
        'cloud-init: password for nobody skipped (no such user)', 'cloud-init: write_files /root/gz.txt']) ok(has(b, l), l);
      ok(await b.login('cirros', 'hashpw'), 'cirros with the hashed password');
      ok((await b.run('hostname')).trim() === 'cirros', 'hostname kept');
      b.send('exit\r');
      ok(await b.login('root', 'r00t\\pw'), 'root with its new password');
      ok((await b.run('cat /root/app.txt')) === 'line1\nline2\n', 'append');
      ok((await b.run('cat /root/gz.txt')) === 'gzipped content\n', 'gz+b64');
      ok((await b.run('cat /root/bs.txt')) === 'back\\slash $HOME `x` "q" it\'s', 'quoting kept in content');
      ok((await b.run('cat /root/rc.txt')) === 'a\\b c\nit\'s\n', 'runcmd quoting');
    });
    const mp = iso('multipart', 'cidata', {
      'meta-data': metaNoCloud('mp-1', 'mpvm'),
      'user-data': 'Content-Type: multipart/mixed; boundary="==BOUNDARY=="\nMIME-Version: 1.0\n\n--==BOUNDARY==\n',
    });
    await boot('multipart user-data', { disk: overlay('mp'), isos: [mp] }, async (b) => {
      ok(b.cloudInitLines().some((l) => l.startsWith('cloud-init: skipped user-data (Content-Type: multipart/mixed')), 'multipart skipped');
    });
  },

  // The ISO as a CD-ROM on virtio-scsi (KubeVirt's cdrom bus: scsi; sata needs AHCI,
  // which Debian's cloud kernel lacks).
  async cdrom() {
    const i = iso('cdrom', 'cidata', {
      'meta-data': metaNoCloud('cd-1', 'cdromvm'),
      'user-data': '#cloud-config\nruncmd:\n  - echo CDROM-RUNCMD\nfoo: bar\n',
    });
    await boot('NoCloud on a SCSI CD-ROM', { disk: overlay('cdrom'), cdroms: [i] }, async (b) => {
      for (const l of ['cloud-init: datasource NoCloud on /dev/sr0', 'cloud-init: hostname cdromvm', 'CDROM-RUNCMD',
        'cloud-init: runcmd 1 command', 'cloud-init: skipped foo']) ok(has(b, l), l);
    });
  },

  // The kernelBoot pair (whole userland in the initramfs) with a NoCloud disk.
  async kernelboot() {
    const i = iso('kb', 'CIDATA', {
      'meta-data': metaNoCloud('kb-1', 'kbvm'),
      'user-data': '#!/bin/sh\necho KB-SCRIPT\n',
    });
    await boot('kernelBoot', { kernelBoot: true, memory: '128M', isos: [i] }, async (b) => {
      for (const l of ['cloud-init: datasource NoCloud on /dev/vda', 'cloud-init: instance-id kb-1 (first boot)',
        'cloud-init: hostname kbvm', 'KB-SCRIPT', 'cloud-init: user-data script ran (exit 0)']) ok(has(b, l), l);
    });
  },
};

/** Boot-to-login times: the guest without cloud-init (GUEST_BASELINE_DISK), with no datasource, with one. */
async function timing(runs) {
  const i = iso('timing', 'cidata', {
    'meta-data': metaNoCloud('t-1', 'timevm'),
    'user-data': '#!/bin/sh\necho timing\n',
  });
  const variants = [['with a NoCloud ISO', { isos: [i] }], ['without a datasource', {}]];
  if (process.env.GUEST_BASELINE_DISK) variants.unshift(['baseline (no cloud-init)', { base: process.env.GUEST_BASELINE_DISK }]);
  const results = Object.fromEntries(variants.map(([n]) => [n, []]));
  for (let r = 0; r < runs; r++) {
    for (const [name, v] of variants) {
      const p = join(work, `t${r}.qcow2`);
      rmSync(p, { force: true });
      execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', v.base ?? disk, p]);
      const b = new Boot({ disk: p, isos: v.isos ?? [], nics: [{ mac: MAC0 }] });
      try {
        await b.booted();
        let t = '';
        if (!v.base) {
          await b.login('root', 'gocubsgo');
          t = (await b.run('cat /run/cloud-init/timing 2>/dev/null | tr "\\n" " "')).trim();
        }
        results[name].push(b.bootSeconds());
        console.log(`${name}: ${b.bootSeconds().toFixed(2)} s to login:${t ? `  (cloud-init-lite centiseconds: ${t})` : ''}`);
      } finally {
        await b.stop();
      }
    }
  }
  for (const [name, xs] of Object.entries(results)) {
    const s = [...xs].sort((a, b) => a - b);
    console.log(`${name}: median ${s[Math.floor(s.length / 2)].toFixed(2)} s, min ${s[0].toFixed(2)}, max ${s.at(-1).toFixed(2)} (${s.length} runs)`);
  }
}

try {
  if (!existsSync(disk)) throw new Error(`no guest at ${disk}: run bash test/guest/build.sh`);
  const args = process.argv.slice(2);
  if (args[0] === 'timing') await timing(Number(args[1] ?? 5));
  else for (const name of args.length ? args : Object.keys(SCENARIOS)) {
    if (!SCENARIOS[name]) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(' ')} timing`);
    await SCENARIOS[name]();
  }
} catch (e) {
  console.error(e.message);
  failures++;
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (failures) console.log(`${failures} check(s) failed`);
process.exit(failures ? 1 : 0);
