// Preparation: everything a VMI needs on the node before its launcher is told what
// to run — what kubelet and a CNI plugin make for a virt-launcher pod, and what
// virt-handler adds: the sandbox (directories, cgroup), a launcher (a spare at once,
// or one started in the pod's network namespace), the pod network with its binding,
// the disks (containerDisk overlays, empty disks, cloud-init ISOs, hostDisk files
// judged again and made when missing: hostdisk/host-disks.ts), the kernel of
// kernelBoot. It ends with the LaunchContext the launcher gets in Sync; the
// controller sends that.

import { open } from 'node:fs/promises';
import type { Logger } from 'pino';
import { errorMessage, InvalidSpecError } from '../../proto/errors.js';
import { judgeOnNode } from '../../proto/vmi/validate-node.js';
import type { AcceleratorChoice } from '../../proto/accelerator.js';
import type { LaunchContext, PreparedVolume } from '../../proto/launch.js';
import { guestMemoryBytes, quantityToBytes, quantityToMillis, vcpuCount } from '../../proto/vmi/index.js';
import { alignedImageBytes } from '../../proto/vmi/devices.js';
import type { VirtualMachineInstance, Volume } from '../../proto/vmi/types.js';
import { cloudInitImage } from '../cloudinit/data.js';
import { buildIso } from '../cloudinit/iso9660.js';
import { podNetworkRequest, type PodNetwork } from '../network/index.js';
import { memoryLimitBytes } from '../sandbox/overhead.js';
import type { VmSandbox } from '../sandbox/provider.js';
import type { LauncherHandle } from './launcher-handle.js';
import { HostDisks } from '../hostdisk/host-disks.js';
import { deviceStateOf } from '../sandbox/device-state.js';
import type { VmiControllerDeps, VmiRuntime } from './vmi-runtime.js';

/** A node without host disk roots: every hostDisk is refused by the gate's words. */
const NO_HOST_DISKS = new HostDisks([]);

export interface Prepared {
  accel: AcceleratorChoice;
  context: LaunchContext;
}

export interface PrepareEnv extends Pick<VmiControllerDeps, 'images' | 'network' | 'sandboxes' | 'chooseAccelerator' | 'onPullProgress' | 'smbios' | 'hostDisks' | 'vmStateDirs' | 'claims'> {
  log: Logger;
  /** A handle for the launcher of `rt`, whose socket is `sandbox`'s. */
  launcherFor(rt: VmiRuntime, sandbox: VmSandbox): LauncherHandle;
  event(type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/**
 * Makes what `vmi` needs and starts its launcher; `rt` holds each part as soon as it
 * exists, so a failure or an abort (`rt.abort`) leaves everything for the teardown
 * to find. Independent steps run side by side and all settle before anything is
 * judged, so a failure never races a step still making things.
 */
export async function prepareVmi(env: PrepareEnv, vmi: VirtualMachineInstance, rt: VmiRuntime): Promise<Prepared> {
  // Milliseconds after the start each step settled (debug log): where a slow start went.
  const t0 = performance.now();
  const took: Record<string, number> = {};
  const timed = <T>(step: string, p: Promise<T>): Promise<T> =>
    p.finally(() => {
      took[step] = Math.round(performance.now() - t0);
    });

  const accel = await timed('accelerator', env.chooseAccelerator());
  // Admission judged the CPU and timers if the probe had answered by then; a VMI
  // applied earlier (or made from its VM) is judged here, before anything is made.
  if (accel.compute) {
    const { errors } = judgeOnNode(vmi.spec, 'spec', accel.compute);
    if (errors.length) throw new InvalidSpecError(errors);
  }
  // Before any sandbox: a hostDisk that went bad since Apply leaves nothing made.
  const hostVolumes = vmi.spec.volumes?.some((v) => v.hostDisk) ? (env.hostDisks ?? NO_HOST_DISKS).prepare(vmi) : {};
  // A claim's disk.img is handed over as a hostDisk file is (storage/claims.ts); the
  // controller started this only once every claim is bound.
  let claimVolumes = {};
  try {
    claimVolumes = vmi.spec.volumes?.some((v) => v.persistentVolumeClaim) ? claimsOf(env).prepare(vmi) : {};
  } catch (e) {
    env.hostDisks?.release(vmi.metadata.uid!);
    throw e;
  }
  const sandbox = await timed('sandbox', env.sandboxes.create({ vmi: { uid: rt.uid, namespace: rt.namespace, name: rt.name }, limits: cgroupLimits(vmi, accel), log: env.log }));
  rt.sandbox = sandbox;
  rt.abort.signal.throwIfAborted();
  // The launcher's socket first: a spare launcher is handed the VM at once and dials
  // in, joins the cgroup and finishes its handshake while the rest is made; it
  // enters the pod's network namespace when Sync brings the launch context.
  const launcher = env.launcherFor(rt, sandbox);
  rt.launcher = launcher;
  await timed('endpoint', launcher.listen());
  const spare = sandbox.adoptSpare();
  if (spare) launcher.attach(spare);

  const steps = await Promise.allSettled([
    timed('network', env.network.createPodNetwork(podNetworkRequest(vmi, sandbox.paths.runDir))),
    timed('volumes', prepareVolumes(env, vmi, rt, sandbox.paths.diskDir).then((made) => ({ ...made, ...hostVolumes, ...claimVolumes }))),
    timed('kernel', prepareKernel(env, vmi, rt)),
  ] as const);
  for (const st of steps) if (st.status === 'rejected') throw st.reason;
  const [pod, volumes, kernelBoot] = steps.map((st) => (st as PromiseFulfilledResult<unknown>).value) as [PodNetwork, LaunchContext['volumes'], LaunchContext['kernelBoot']];
  rt.abort.signal.throwIfAborted();

  const deviceState = deviceStateOf(vmi, sandbox.paths.diskDir, env.vmStateDirs);
  // The launcher (and so QEMU and its DHCP server) lives in the pod's network
  // namespace: a spare enters it on Sync, a new one is started in it.
  const context: LaunchContext = {
    runDir: sandbox.paths.runDir,
    accelerator: accel.accelerator,
    volumes,
    ...(kernelBoot ? { kernelBoot } : {}),
    interfaces: preparedInterfaces(pod),
    netns: pod.netnsPath,
    ...(env.smbios ? { smbios: env.smbios } : {}),
    ...(deviceState ? { deviceState } : {}),
  };
  sandbox.runtime.launchContext = context;
  if (spare) await sandbox.save();
  else launcher.attach(await timed('launcher', sandbox.spawnLauncher(pod.netnsPath)));
  env.log.debug({ ms: took, spare: spare !== undefined }, 'preparation timings');
  return { accel, context };
}

function claimsOf(env: PrepareEnv): NonNullable<PrepareEnv['claims']> {
  if (!env.claims) throw new InvalidSpecError([{ path: 'spec.volumes', message: 'this node provisions no PersistentVolumeClaims' }]);
  return env.claims;
}

/** The VM cgroup's limits: guest memory plus virtnode's overhead, KubeVirt's CPU defaults. */
export function cgroupLimits(vmi: VirtualMachineInstance, accel: AcceleratorChoice): Parameters<VmiControllerDeps['sandboxes']['create']>[0]['limits'] {
  const vcpus = vcpuCount(vmi.spec);
  const res = vmi.spec.domain.resources;
  const limit = res?.limits?.memory;
  return {
    memoryBytes: memoryLimitBytes({
      guestBytes: Number(guestMemoryBytes(vmi.spec)),
      vcpus,
      accelerator: accel.accelerator,
      graphics: vmi.spec.domain.devices.autoattachGraphicsDevice !== false,
      limitBytes: limit !== undefined ? Number(quantityToBytes(limit, 'spec.domain.resources.limits.memory')) : undefined,
    }),
    cpuRequestMillis: res?.requests?.cpu !== undefined ? quantityToMillis(res.requests.cpu, 'spec.domain.resources.requests.cpu') : 100 * vcpus,
    cpuLimitMillis: res?.limits?.cpu !== undefined ? quantityToMillis(res.limits.cpu, 'spec.domain.resources.limits.cpu') : undefined,
    pidsMax: 4096,
  };
}

/**
 * Makes every volume's image side by side (a cloud-init ISO is written while the
 * containerDisk's overlay is made): each pulled containerDisk gets the VM's overlay,
 * each emptyDisk a new image, each cloud-init volume its ISO. All settle before any
 * failure is judged, as in prepareVmi.
 */
async function prepareVolumes(env: PrepareEnv, vmi: VirtualMachineInstance, rt: VmiRuntime, diskDir: string): Promise<LaunchContext['volumes']> {
  const list = vmi.spec.volumes ?? [];
  const made = await Promise.allSettled(list.map((v) => prepareVolume(env, vmi, rt, diskDir, v)));
  const volumes: LaunchContext['volumes'] = {};
  made.forEach((r, i) => {
    if (r.status === 'rejected') throw r.reason;
    if (r.value) volumes[list[i]!.name] = r.value;
  });
  return volumes;
}

async function prepareVolume(env: PrepareEnv, vmi: VirtualMachineInstance, rt: VmiRuntime, diskDir: string, v: Volume): Promise<PreparedVolume | undefined> {
  rt.abort.signal.throwIfAborted();
  if (v.containerDisk) {
    const started = Date.now();
    env.event('Normal', 'Pulling', `Pulling image "${v.containerDisk.image}"`);
    const pulled = await unlessAborted(
      env,
      rt,
      env.images.pullContainerDisk(v.containerDisk.image, v.containerDisk.imagePullPolicy, {
        path: v.containerDisk.path,
        holder: rt.uid,
        onProgress: (p) => env.onPullProgress?.(vmi, p),
      }),
    );
    env.event('Normal', 'Pulled', `Successfully pulled image "${v.containerDisk.image}" (${pulled.digest}) in ${Date.now() - started} ms`);
    rt.abort.signal.throwIfAborted();
    const overlay = await env.images.createOverlay(pulled, `${diskDir}/${v.name}.qcow2`);
    // The base named, not left to the overlay's header: QEMU opens it explicitly,
    // read-only, and the launcher knows to show it to QEMU (launcher/domain/confine.ts).
    return { path: overlay.path, format: 'qcow2', backing: overlay.backing };
  }
  if (v.cloudInitNoCloud || v.cloudInitConfigDrive) {
    // Made here, per VM start, as virt-launcher makes it; gone with the sandbox.
    const image = cloudInitImage(vmi, v);
    const path = `${diskDir}/${v.name}.iso`;
    await writeSparse(path, buildIso({ volumeId: image.label, files: image.files }));
    return { path, format: 'raw' };
  }
  if (v.emptyDisk) {
    // Aligned down to 1 MiB, as KubeVirt makes every image (admission refused less than that).
    const size = Number(alignedImageBytes(quantityToBytes(v.emptyDisk.capacity, `spec.volumes[${v.name}].emptyDisk.capacity`)));
    const disk = await env.images.createEmptyDisk(`${diskDir}/${v.name}.qcow2`, size);
    return { path: disk.path, format: 'qcow2' };
  }
  return undefined;
}

/**
 * Writes `image` leaving its trailing zeros a hole: an ISO is padded to a whole MiB
 * of which a few KiB hold data, and writing the zeros was most of its cost.
 */
async function writeSparse(path: string, image: Buffer): Promise<void> {
  let end = image.length;
  while (end > 0 && image[end - 1] === 0) end--;
  const fh = await open(path, 'w', 0o600);
  try {
    await fh.write(image, 0, end, 0);
    await fh.truncate(image.length);
  } finally {
    await fh.close();
  }
}

/** firmware.kernelBoot: the kernel and initrd out of their container image. */
async function prepareKernel(env: PrepareEnv, vmi: VirtualMachineInstance, rt: VmiRuntime): Promise<LaunchContext['kernelBoot']> {
  const kb = vmi.spec.domain.firmware?.kernelBoot;
  if (!kb?.container) return undefined;
  env.event('Normal', 'Pulling', `Pulling image "${kb.container.image}"`);
  const pulled = await unlessAborted(env, rt, env.images.pullKernelBoot(kb.container.image, kb.container.imagePullPolicy, kb.container.kernelPath, kb.container.initrdPath, { holder: rt.uid }));
  env.event('Normal', 'Pulled', `Successfully pulled image "${kb.container.image}" (${pulled.digest})`);
  return { kernel: pulled.kernel, initrd: pulled.initrd };
}

/**
 * A pull, given up on as soon as `rt` is aborted: the image service takes no signal,
 * and a delete must not wait for a slow registry. The pull still ends in its own
 * time and takes its hold for `rt.uid` then, after the teardown released the VMI's
 * holds; that late hold is released here, or the image would be kept forever.
 */
function unlessAborted<T extends { digest: string }>(env: PrepareEnv, rt: VmiRuntime, pull: Promise<T>): Promise<T> {
  const signal = rt.abort.signal;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason);
      pull.then(
        (p) => env.images.release(p.digest, rt.uid).catch((e: unknown) => env.log.warn({ err: errorMessage(e) }, 'releasing the hold of an abandoned pull failed')),
        () => undefined,
      );
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    pull.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** What the launcher needs to run each interface: its tap, MAC, DHCP lease and status address. */
function preparedInterfaces(pod: PodNetwork): LaunchContext['interfaces'] {
  const out: NonNullable<LaunchContext['interfaces']> = {};
  for (const i of pod.interfaces) {
    const g = i.guest;
    out[i.name] = {
      tapName: i.tapName,
      multiQueue: i.multiQueue,
      mac: g.mac,
      statusIP: pod.podIP,
      dhcp: {
        bridge: i.bridgeName,
        serverIp: g.dhcpServerIP,
        lease: {
          mac: g.mac,
          ip: g.ip,
          prefixLength: g.prefixLength,
          gateway: g.gateway,
          dns: g.dns,
          searchDomains: g.searchDomains,
          hostname: g.hostname,
          mtu: g.mtu,
          routes: g.routes.map((r) => {
            const [dest, len] = r.destination.split('/');
            return { dest: dest!, prefixLen: Number(len ?? 32), gateway: r.gateway };
          }),
        },
      },
    };
  }
  return out;
}
