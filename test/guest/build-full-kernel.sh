#!/usr/bin/env bash
# A kernelBoot pair with Debian's generic kernel, for the tests of disk buses the
# cloud kernel cannot drive: linux-image-cloud-amd64 is built without AHCI
# (CONFIG_SATA_AHCI unset) and without USB (CONFIG_USB_SUPPORT unset), so a SATA or
# USB disk is invisible to the usual test guest. Writes into test/guest/.cache/full/:
#   vmlinuz     the generic kernel of the same ABI as the cloud one build.sh uses
#   initrd.img  build.sh's root filesystem tree as the whole userland, with this
#               kernel's storage modules (and their dependencies) instead of the cloud ones
# Run build.sh first (it makes the tree and downloads the cloud kernel). Idempotent:
# does nothing when both outputs are newer than this script and the tree. Needs
# root, apt-get, dpkg-deb, cpio, gzip.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${VIRTNODE_GUEST_CACHE:-$HERE/.cache}
SELF=$HERE/build-full-kernel.sh
OUT=$CACHE/full
# The storage drivers of every disk bus KubeVirt has, the filesystems the tests
# mount, and what the test guest uses besides (virtio console, NIC, rng, balloon, power button).
MODULES="virtio_pci virtio_blk virtio_scsi virtio_net virtio_console virtio-rng virtio_balloon
	ahci sd_mod sr_mod xhci_pci usb_storage isofs pvpanic-pci button evdev"

log() { printf 'build-full-kernel.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

ROOTFS=$CACHE/rootfs
[ -s "$ROOTFS/.stamp" ] || die "no root filesystem tree in $ROOTFS: run test/guest/build.sh first"
CLOUD=$(cat "$CACHE/pkgroot/.stamp") # 6.1.0-57-cloud-amd64
KPKG=linux-image-${CLOUD/-cloud-amd64/-amd64}
mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9

if [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.img" ] && [ -z "$(find "$SELF" "$ROOTFS/.stamp" -newer "$OUT/initrd.img" -print -quit)" ]; then
	exit 0
fi

if ! ls "$OUT"/"$KPKG"_*.deb >/dev/null 2>&1; then
	log "downloading $KPKG"
	apt-cache show "$KPKG" >/dev/null 2>&1 || apt-get update -qq
	(cd "$OUT" && apt-get download -qq -o APT::Sandbox::User=root "$KPKG")
fi
PKG=$OUT/pkgroot
rm -rf "$PKG"
mkdir -p "$PKG"
dpkg-deb -x "$(ls "$OUT"/"$KPKG"_*.deb | head -1)" "$PKG"
KVER=$(ls "$PKG/lib/modules")
MODDIR=$PKG/lib/modules/$KVER
# The package ships no modules.dep (its postinst runs depmod).
"$ROOTFS/bin/busybox" depmod -b "$PKG" "$KVER"

# Each wanted module and its dependencies (modules.dep), by path; names match with - or _.
paths=$(for m in $MODULES; do
	n=${m//-/_}
	p=$(awk -F: -v n="$n" '{ b=$1; sub(/.*\//, "", b); sub(/\.ko$/, "", b); gsub(/-/, "_", b); if (b == n) { print $1; exit } }' "$MODDIR/modules.dep")
	if [ -n "$p" ]; then echo "$p"; elif grep -qE "/${n//_/[-_]}\\.ko\$" "$MODDIR/modules.builtin"; then :; else die "module $m neither a module nor built into $KVER"; fi
done)
wanted=$(awk -F: -v want="$paths" '
	{ deps[$1] = $2 }
	function visit(p,   n, d, i) { if (p in seen) return; seen[p] = 1; n = split(deps[p], d, " "); for (i = 1; i <= n; i++) visit(d[i]); print p }
	END { n = split(want, w, "\n"); for (i = 1; i <= n; i++) if (w[i] != "") visit(w[i]) }' "$MODDIR/modules.dep")

log "assembling initramfs for $KVER ($(echo "$wanted" | wc -l) modules)"
tree=$OUT/tree
rm -rf "$tree"
cp -a "$ROOTFS" "$tree"
rm -rf "$tree/lib/modules" "$tree/.stamp"
for m in $wanted; do
	mkdir -p "$tree/lib/modules/$KVER/$(dirname "$m")"
	cp "$MODDIR/$m" "$tree/lib/modules/$KVER/$m"
done
cp "$MODDIR/modules.builtin" "$MODDIR/modules.order" "$tree/lib/modules/$KVER/"
"$tree/bin/busybox" depmod -b "$tree" "$KVER"
find "$tree" -exec touch -h -d @0 {} +
(cd "$tree" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet | gzip -6 -n) >"$OUT/initrd.img.tmp"
cp "$PKG/boot/vmlinuz-$KVER" "$OUT/vmlinuz.tmp"
mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
mv "$OUT/initrd.img.tmp" "$OUT/initrd.img"
rm -rf "$tree" "$PKG"
log "$KVER: vmlinuz $(du -h "$OUT/vmlinuz" | cut -f1), initrd.img $(du -h "$OUT/initrd.img" | cut -f1)"
