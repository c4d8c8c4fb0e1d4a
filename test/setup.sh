#!/usr/bin/env bash
# Everything a fresh Debian 12 machine needs to build virtnode and run its tests
# and demo: Debian packages (installed only when missing, after apt-get update),
# npm packages, and the test guest (built from Debian packages into
# test/guest/.cache). Idempotent; safe to run before every test run.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else echo "setup: run as root (virtnode manages cgroups, sockets and QEMU)" >&2; exit 1; fi
fi

# Debian packages: QEMU and its image tools; the guest builder's tools; a real
# OCI registry and skopeo for the containerDisk tests; setpriv (util-linux) so QEMU
# dies with its launcher; iproute2/nftables for sandboxes; openssl for mTLS tests;
# genisoimage (isoinfo) and xorriso to read the cloud-init ISOs virtnode writes;
# ovmf (EFI firmware) and swtpm (the TPM) for VMs; dosfstools, mtools and sbsigntool
# for the guest builder's UEFI disks (an ESP, the kernel's signature removed).
PKGS=(qemu-system-x86 qemu-utils busybox-static cpio e2fsprogs extlinux syslinux-common
      docker-registry skopeo util-linux iproute2 nftables lz4 openssl ca-certificates curl nasm
      genisoimage xorriso ovmf swtpm swtpm-tools dosfstools mtools sbsigntool)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian package starts a registry on :5000 as a service; tests run their own.
if command -v systemctl >/dev/null && systemctl is-active --quiet docker-registry 2>/dev/null; then
  $SUDO systemctl stop docker-registry || true
fi

# QEMU's own user, 107:107 as in KubeVirt's images (launcher/domain/confine.ts runs
# QEMU with these numbers; the account only keeps them from being handed to another
# daemon). Debian's qemu packages create no user (libvirt's libvirt-qemu is 64055).
# KubeVirt's name, qemu, unless another uid has it. A 107 that belongs to someone
# else is refused: every VM's QEMU would share that account's files and processes.
qemu_id=107
owner=$(getent passwd "$qemu_id" | cut -d: -f1 || true)
group=$(getent group "$qemu_id" | cut -d: -f1 || true)
uname=qemu gname=qemu
if getent passwd qemu >/dev/null && [ "$(id -u qemu)" != "$qemu_id" ]; then uname=virtnode-qemu; fi
if getent group qemu >/dev/null && [ "$(getent group qemu | cut -d: -f3)" != "$qemu_id" ]; then gname=virtnode-qemu; fi
if [ -n "$owner" ] && [ "$owner" != qemu ] && [ "$owner" != virtnode-qemu ]; then
  echo "setup: uid $qemu_id belongs to $owner; QEMU runs as $qemu_id and must not share it (remove or renumber $owner)" >&2; exit 1
fi
if [ -n "$group" ] && [ "$group" != qemu ] && [ "$group" != virtnode-qemu ]; then
  echo "setup: gid $qemu_id belongs to group $group; QEMU runs as $qemu_id and must not share it" >&2; exit 1
fi
[ -n "$group" ] || $SUDO groupadd --system --gid "$qemu_id" "$gname"
[ -n "$owner" ] || $SUDO useradd --system --uid "$qemu_id" --gid "$qemu_id" --no-create-home --home-dir / --shell /usr/sbin/nologin --comment "QEMU (virtnode)" "$uname"

# npm packages (koffi's native part is an optional dependency: never --omit=optional).
if [ ! -d node_modules/@grpc/grpc-js ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# `virtnode` on the PATH: a wrapper in /usr/local/bin (VIRTNODE_BIN_DIR) that runs
# this checkout's CLI, dist/handler/cli/main.js once `npm run build` made it, with
# this node by its full path (sudo's PATH may not have it). The checkout set up last
# owns it; a `virtnode` this script did not write is left alone.
bin_dir=${VIRTNODE_BIN_DIR:-/usr/local/bin}
wrapper=$(printf '#!/bin/sh\n# virtnode CLI of %s (written by its test/setup.sh)\nexec %q %q "$@"' \
  "$PWD" "$(command -v node)" "$PWD/dist/handler/cli/main.js")
if [ -e "$bin_dir/virtnode" ] && ! grep -q '^# virtnode CLI of ' "$bin_dir/virtnode"; then
  echo "setup: $bin_dir/virtnode was not written by virtnode's setup: left as it is" >&2
elif [ "$(cat "$bin_dir/virtnode" 2>/dev/null)" != "$wrapper" ]; then
  tmp=$(mktemp)
  printf '%s\n' "$wrapper" > "$tmp"
  $SUDO install -D -m 0755 "$tmp" "$bin_dir/virtnode"
  rm -f "$tmp"
  echo "setup: $bin_dir/virtnode runs the CLI of $PWD"
fi

# The test guest (kernel + busybox userland, disk image, kernelBoot pair, OCI layouts).
bash test/guest/build.sh
