// The test guest (built by build.sh from Debian packages) and a real OCI registry,
// for e2e tests, benchmarks and the demo.
//
// Guest facts worth knowing (measured under TCG on the 2-core CI machine):
// - disk.qcow2 boots to `login:` in ~2.2–2.8 s with `-m 64000000b` (the seed VM's
//   `memory: 64M`, 61 MiB), ~11 MiB left free after login. That needs the
//   decompressor patch and the two memory-saving kernel arguments in build.sh.
// - The kernelBoot pair (vmlinuz + initrd.img holding the whole userland) reaches
//   `login:` in ~1.9 s (vmlinux: ~1.7 s). With kernelBootArgs it needs 66 MiB
//   (vmlinux 68 MiB); with only "console=ttyS0 quiet", 88 MiB (80 fails). 128Mi is safe.
// - efi-disk.qcow2 (UEFI, Debian's shim → grub → signed kernel): under TCG, OVMF and
//   grub take several seconds before the kernel. The kernel is not floor-patched and
//   needs ~256 MiB without Secure Boot; with the Secure Boot (SMM) OVMF, 256 MiB
//   ends in a triple fault right after the EFI stub, 512 MiB boots (measured).
// - Users cirros and root, password gocubsgo; prompt `$ ` / `# `; hostname cirros
//   unless DHCP names it; qemu-ga runs on the virtio-serial port
//   org.qemu.guest_agent.0 when present; the ACPI power button powers off.
// - cloud-init, as on CirrOS: rcS runs /usr/libexec/cloud-init-lite, which reads a
//   NoCloud ("cidata") or ConfigDrive ("config-2") ISO on a virtio disk or a
//   virtio-scsi CD-ROM (not SATA: the kernel has no AHCI) and prints one
//   `cloud-init: ...` console line per step before the login prompt, e.g.
//   `cloud-init: instance-id <id> (first boot)` / `(seen before)`, ending with
//   `cloud-init: done`; without an ISO only `cloud-init: no datasource`. Per-instance
//   steps (user-data script, runcmd, write_files, passwords, ssh keys) run on the
//   first boot of an instance id only. test/guest/cloud-init-check.mjs boots each
//   case on bare QEMU and lists the lines.
import { spawn, execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VirtnodeError } from '../../proto/errors.js';
import { startRegistry as startDockerRegistry } from '../unit/helpers/registry.js';

export interface GuestPaths {
  /** test/guest/.cache (or $VIRTNODE_GUEST_CACHE) */
  cacheDir: string;
  /** BIOS disk: MBR + extlinux + ext4 root, module-only initramfs; boots in 61 MiB. */
  disk: string;
  /** kernelBoot kernel (bzImage, decompressor floor patched to 2 MiB). */
  vmlinuz: string;
  /** The same kernel uncompressed: PVH entry for `-kernel`, loads at 16 MiB (needs ≥68 MiB). */
  vmlinux: string;
  /** kernelBoot initrd: the whole userland, boots without a disk. */
  initrd: string;
  /** OCI layout with disk/disk.qcow2 (107:107, 0440): a KubeVirt containerDisk. */
  ociContainerDisk: string;
  /** OCI layout with boot/vmlinuz and boot/initrd.img (for firmware.kernelBoot.container). */
  ociKernelBoot: string;
  /**
   * UEFI disk: an ESP with Debian's Secure Boot chain as the removable-media path
   * (shim signed by Microsoft's UEFI CA → Debian-signed grub → the Debian-signed
   * kernel as shipped, not floor-patched, with the module initramfs) and the same
   * ext4 root. Boots with and without Secure Boot; needs more RAM than disk.qcow2.
   */
  efiDisk: string;
  /** An ESP whose \EFI\BOOT\BOOTX64.EFI is the kernel with its signature removed: Secure Boot refuses it. */
  efiUnsigned: string;
  /** efiDisk and efiUnsigned as containerDisk OCI layouts (disk/disk.qcow2). */
  ociEfiDisk: string;
  ociEfiUnsigned: string;
}

/** The guest's credentials and what its serial console prints. */
export const guestLogin = {
  user: 'cirros',
  password: 'gocubsgo',
  rootPassword: 'gocubsgo',
  banner: 'virtnode test guest (cirros-compatible)',
  userPrompt: '$ ',
  rootPrompt: '# ',
} as const;

/**
 * Kernel command line for the kernelBoot pair (the disk carries the same one plus
 * root=, in extlinux.conf). build.sh writes what it used to `<cacheDir>/kernel-args`;
 * the e2e test checks the two agree.
 */
export const kernelBootArgs = 'console=ttyS0 quiet nokaslr lockdown=confidentiality cgroup.memory=nokmem';

/** Guest RAM in bytes: the seed VM's 64M for the disk, 128Mi for kernelBoot. */
export const guestMemory = { disk: 64_000_000, kernelBoot: 128 * 1024 * 1024 } as const;

const guestDir = findGuestDir();
const cacheDir = process.env.VIRTNODE_GUEST_CACHE ?? join(guestDir, '.cache');

export const guestPaths: GuestPaths = {
  cacheDir,
  disk: join(cacheDir, 'disk.qcow2'),
  vmlinuz: join(cacheDir, 'vmlinuz'),
  vmlinux: join(cacheDir, 'vmlinux'),
  initrd: join(cacheDir, 'initrd.img'),
  ociContainerDisk: join(cacheDir, 'oci', 'containerdisk'),
  ociKernelBoot: join(cacheDir, 'oci', 'kernelboot'),
  efiDisk: join(cacheDir, 'efi-disk.qcow2'),
  efiUnsigned: join(cacheDir, 'efi-unsigned.qcow2'),
  ociEfiDisk: join(cacheDir, 'oci', 'efidisk'),
  ociEfiUnsigned: join(cacheDir, 'oci', 'efiunsigned'),
};

// This module runs from dist/test/guest/ but build.sh lives in the source tree.
function findGuestDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'test', 'guest', 'build.sh'))) return join(dir, 'test', 'guest');
    const up = dirname(dir);
    if (up === dir) throw new VirtnodeError('VN_INTERNAL', 'test/guest/build.sh not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

function outputs(p: GuestPaths): string[] {
  return [
    p.disk, p.vmlinuz, p.vmlinux, p.initrd, p.efiDisk, p.efiUnsigned,
    join(p.ociContainerDisk, 'index.json'), join(p.ociKernelBoot, 'index.json'),
    join(p.ociEfiDisk, 'index.json'), join(p.ociEfiUnsigned, 'index.json'),
  ];
}

function newestInput(): number {
  let newest = statSync(join(guestDir, 'build.sh')).mtimeMs;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of ['rootfs', 'initramfs']) walk(join(guestDir, d));
  return newest;
}

/** Outputs missing, empty, or older than build.sh / rootfs/ / initramfs/. */
function guestStale(): boolean {
  const inputs = newestInput();
  return outputs(guestPaths).some((f) => {
    try {
      const s = statSync(f);
      return s.size === 0 || s.mtimeMs < inputs;
    } catch {
      return true;
    }
  });
}

let building: Promise<GuestPaths> | undefined;

/**
 * Builds the guest if an output is missing or older than its sources (build.sh is
 * idempotent and takes a lock, so concurrent callers are safe), then returns its paths.
 * From scratch it takes ~10 s on this machine plus the download of ~29 MB of .debs.
 */
export function ensureGuest(opts: { force?: boolean } = {}): Promise<GuestPaths> {
  if (!opts.force && building) return building;
  if (!opts.force && !guestStale()) return Promise.resolve(guestPaths);
  const run = new Promise<GuestPaths>((resolvePaths, reject) => {
    const args = [join(guestDir, 'build.sh'), ...(opts.force ? ['--force'] : [])];
    const child = spawn('bash', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VIRTNODE_GUEST_CACHE: cacheDir } });
    let log = '';
    child.stdout.on('data', (d: Buffer) => { log += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { log += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePaths(guestPaths);
      else reject(new VirtnodeError('VN_IMAGE', `test/guest/build.sh exited ${code}:\n${log.slice(-4000)}`));
    });
  });
  building = run.catch((e: unknown) => {
    building = undefined;
    throw e;
  });
  return building;
}

export interface Registry {
  /** "127.0.0.1:PORT" */
  host: string;
  /** Stops the registry and removes its storage. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts a real registry (Debian's docker-registry, distribution v2.8) on
 * 127.0.0.1 over plain HTTP, storing blobs in a fresh temporary directory removed
 * on stop, once `GET /v2/` answers (test/unit/helpers/registry.ts starts it).
 */
export async function startRegistry(): Promise<Registry> {
  let lastError = '';
  // A port found free may be taken before the registry binds it: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'virtnode-registry-'));
    try {
      const reg = await startDockerRegistry(dir);
      let stopped = false;
      const stop = async (): Promise<void> => {
        if (stopped) return;
        stopped = true;
        await reg.stop();
        rmSync(dir, { recursive: true, force: true });
      };
      return { host: reg.host, stop };
    } catch (e) {
      lastError = (e as Error).message;
      rmSync(dir, { recursive: true, force: true });
    }
  }
  throw new VirtnodeError('VN_UNAVAILABLE', `docker-registry did not start: ${lastError}`);
}

/**
 * Pushes an OCI image layout to a registry with skopeo over plain HTTP:
 * `dest` is "HOST:PORT/repository:tag". Returns the manifest digest ("sha256:…").
 * skopeo gets an auth file of its own (the test registry asks for none): the
 * default one, /run/containers/<uid>/auth.json, is podman's and buildah's logins.
 */
export function pushImage(layoutDir: string, dest: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'virtnode-push-'));
  const digestFile = join(dir, 'digest');
  const env = { ...process.env, REGISTRY_AUTH_FILE: join(dir, 'auth.json') };
  return new Promise<string>((resolveDigest, reject) => {
    execFile('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--digestfile', digestFile,
      `oci:${resolve(layoutDir)}`, `docker://${dest}`], { timeout: 120_000, env }, (err, _stdout, stderr) => {
      try {
        if (err) reject(new VirtnodeError('VN_IMAGE', `skopeo copy ${layoutDir} to ${dest}: ${stderr || err.message}`));
        else resolveDigest(readFileSync(digestFile, 'utf8').trim());
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
