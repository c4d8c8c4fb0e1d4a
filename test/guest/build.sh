#!/usr/bin/env bash
# Builds the virtnode test guest from Debian packages into test/guest/.cache/:
#   disk.qcow2            BIOS disk: MBR + extlinux + one ext4 root partition,
#                         with a module-only initramfs (boots in 61 MiB of RAM)
#   vmlinuz, initrd.img   kernelBoot pair: the whole userland as initramfs
#   vmlinux               the same kernel uncompressed (PVH entry, boots faster)
#   oci/containerdisk     OCI layout: disk/disk.qcow2 (KubeVirt containerDisk)
#   oci/kernelboot        OCI layout: boot/vmlinuz, boot/initrd.img
#   efi-disk.qcow2        UEFI disk: an ESP with Debian's signed shim, grub and kernel
#                         (boots with and without Secure Boot) and the same ext4 root
#   efi-unsigned.qcow2    an ESP whose BOOTX64.EFI is that kernel, unsigned
#   oci/efidisk, oci/efiunsigned  the two as containerDisks
# Userland: busybox-static (init, getty, login, acpid, udhcpc) and qemu-guest-agent
# with the libraries it links (its guest-shutdown runs rootfs/sbin/shutdown, a shim
# on busybox). Users cirros and root, password gocubsgo (as CirrOS).
#
# Idempotent: a step runs only when its output is missing or older than its inputs
# (this script, the files under rootfs/ and initramfs/, the .debs). --force rebuilds
# everything but keeps the downloaded .debs (--force --refetch downloads them again).
# Needs root (loop mount for extlinux) and: apt-get dpkg-deb e2fsprogs extlinux
# syslinux-common qemu-utils cpio gzip lz4 tar dosfstools mtools sbsigntool.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${VIRTNODE_GUEST_CACHE:-$HERE/.cache}
SELF=$HERE/build.sh
FORCE=0
REFETCH=0
for a in "$@"; do
	case "$a" in
	--force) FORCE=1 ;;
	--refetch) REFETCH=1 ;;
	-h | --help) sed -n '2,21p' "$SELF"; exit 0 ;;
	*) echo "build.sh: unknown argument $a" >&2; exit 2 ;;
	esac
done

# Kernel command line. The seed VM's 61 MiB leave this kernel ~17 MiB after its own
# ~44 MiB, so two arguments are about memory (without either, boots in 61 MiB end in
# an OOM panic, always or sometimes):
#   lockdown=confidentiality  stops tracefs from creating its thousands of event
#                             directories at boot (~7 MiB of slab in 6.1, before eventfs);
#   cgroup.memory=nokmem      no memcg object array for percpu chunks (a 4 MiB vmalloc).
# With both, ~11 MiB stay available after login with qemu-ga running.
# nokaslr keeps the kernel at the 2 MiB the patched decompressor allows (see below).
# quiet: the boot log does not interleave with the login prompt on the serial line.
# tsc=reliable, no_timer_check, rcupdate.rcu_expedited=1, i8042.noaux, 8250.nr_uarts=1,
# mitigations=off and cryptomgr.notests changed neither boot time (~2.2 s to login:)
# nor idle CPU nor free memory measurably: left out.
# VIRTNODE_GUEST_KERNEL_ARGS replaces the line (for measurements).
KERNEL_ARGS_COMMON=${VIRTNODE_GUEST_KERNEL_ARGS:-"console=ttyS0 quiet nokaslr lockdown=confidentiality cgroup.memory=nokmem"}
DISK_KERNEL_ARGS="root=LABEL=cirros-rootfs rw $KERNEL_ARGS_COMMON"
PASSWORD=gocubsgo
ROOT_LABEL=cirros-rootfs
GUEST_HOSTNAME=cirros

# Modules of the root filesystem (dependencies are added from modules.dep) and
# the ones the disk's initramfs loads (with their dependencies).
ROOTFS_MODULES="virtio virtio_ring virtio_pci virtio_pci_modern_dev virtio_pci_legacy_dev
	virtio_blk virtio_scsi sd_mod sr_mod virtio_net virtio_console virtio-rng virtio_balloon
	pvpanic-pci button evdev isofs vmw_vsock_virtio_transport efivarfs"
INITRD_MODULES="virtio_pci virtio_blk"
QGA_LIB_PACKAGES="libc6 libglib2.0-0 libnuma1 libudev1 liburing2 libpcre2-8-0"

log() { printf 'build.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in apt-get apt-cache dpkg-deb mke2fs extlinux qemu-img cpio gzip lz4 tar losetup mount flock sha256sum truncate; do
	command -v "$tool" >/dev/null || die "missing $tool (apt-get install e2fsprogs extlinux syslinux-common qemu-utils cpio lz4)"
done
[ "$(id -u)" = 0 ] || die "needs root (loop mount to install extlinux)"
MBR_BIN=
for f in /usr/lib/syslinux/mbr/mbr.bin /usr/lib/EXTLINUX/mbr.bin; do [ -f "$f" ] && MBR_BIN=$f && break; done
[ -n "$MBR_BIN" ] || die "no syslinux mbr.bin (apt-get install syslinux-common)"

# fresh OUT INPUT...: OUT exists, is not empty, and is newer than every INPUT (files or dirs,
# searched recursively), and --force was not given.
fresh() {
	local out=$1
	shift
	[ "$FORCE" = 0 ] && [ -s "$out" ] || return 1
	[ -z "$(find "$@" -newer "$out" -print -quit 2>/dev/null)" ]
}

mkdir -p "$CACHE"
cd "$CACHE"
# Concurrent test processes may all call ensureGuest(): one build at a time.
exec 9>"$CACHE/.lock"
flock 9
T0=$(date +%s.%N)

# --- 1. download the .debs (kept across --force; --refetch downloads them again) ---
DEBS=$CACHE/debs
mkdir -p "$DEBS"
if [ "$REFETCH" = 1 ] || [ ! -s "$DEBS/list" ] || ! (cd "$DEBS" && xargs -r ls <list >/dev/null 2>&1); then
	if ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; then
		log "apt lists missing: apt-get update"
		apt-get update -qq
	fi
	# The metapackage only depends on the versioned kernel package that holds the files.
	KPKG=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	[ -n "$KPKG" ] || die "cannot resolve linux-image-cloud-amd64"
	log "downloading $KPKG busybox-static qemu-guest-agent $QGA_LIB_PACKAGES"
	rm -f "$DEBS"/*.deb "$DEBS/list"
	# _apt cannot write into root's directories: download as root, quietly.
	(cd "$DEBS" && apt-get download -qq -o APT::Sandbox::User=root "$KPKG" busybox-static qemu-guest-agent $QGA_LIB_PACKAGES)
	(cd "$DEBS" && ls -1 -- *.deb >list)
fi

# --- 2. extract them (dpkg -x) ---
PKG=$CACHE/pkgroot
if ! fresh "$PKG/.stamp" "$DEBS/list" "$SELF"; then
	log "extracting $(wc -l <"$DEBS/list") packages"
	rm -rf "$PKG"
	mkdir -p "$PKG"
	while read -r deb; do dpkg-deb -x "$DEBS/$deb" "$PKG"; done <"$DEBS/list"
	KVER=$(ls "$PKG/lib/modules")
	"$PKG/bin/busybox" depmod -b "$PKG" "$KVER"
	echo "$KVER" >"$PKG/.stamp"
fi
KVER=$(ls "$PKG/lib/modules")
[ "$(echo "$KVER" | wc -l)" = 1 ] || die "expected one kernel in $PKG/lib/modules, found: $KVER"
BB=$PKG/bin/busybox
MODDIR=$PKG/lib/modules/$KVER

# modpath NAME: path of module NAME relative to $MODDIR (names match with - or _).
modpath() {
	local n=${1//-/_} p
	p=$(awk -F: -v n="$n" '{ b=$1; sub(/.*\//, "", b); sub(/\.ko$/, "", b); gsub(/-/, "_", b); if (b == n) { print $1; exit } }' "$MODDIR/modules.dep")
	[ -n "$p" ] || die "module $1 not in $KVER"
	echo "$p"
}
# modorder NAME...: the modules and their dependencies, each after what it needs (insmod order).
modorder() {
	local paths="" m
	for m in "$@"; do paths="$paths $(modpath "$m")"; done
	awk -F: -v want="$paths" '
		{ deps[$1] = $2 }
		function visit(p,   n, d, i) {
			if (p in seen) return
			seen[p] = 1
			n = split(deps[p], d, " ")
			for (i = n; i >= 1; i--) visit(d[i])
			print p
		}
		END { n = split(want, w, " "); for (i = 1; i <= n; i++) visit(w[i]) }' "$MODDIR/modules.dep"
}

# --- 3. the root filesystem tree ---
ROOTFS=$CACHE/rootfs
if ! fresh "$ROOTFS/.stamp" "$PKG/.stamp" "$SELF" "$HERE/rootfs"; then
	log "assembling root filesystem"
	rm -rf "$ROOTFS"
	mkdir -p "$ROOTFS"
	(
		cd "$ROOTFS"
		mkdir -p bin sbin usr/bin usr/sbin usr/lib lib/x86_64-linux-gnu lib64 etc dev proc sys tmp run \
			root home/cirros var/log var/lib boot newroot mnt
		ln -s ../run var/run
		ln -s ../run/lock var/lock
		cp "$BB" bin/busybox
		# One symlink per applet, at the path busybox itself names (bin/ls, sbin/init, ...).
		"$BB" --list-full | while read -r applet; do
			case "$applet" in
			bin/*) target=busybox ;;
			sbin/*) target=../bin/busybox ;;
			usr/*/*) target=../../bin/busybox ;;
			*) continue ;; # linuxrc
			esac
			[ -e "$applet" ] || ln -s "$target" "$applet"
		done
		ln -s sbin/init init # the kernelBoot initramfs starts /init
		ln -sf ../run/resolv.conf etc/resolv.conf
		# qemu-ga and the shared libraries it loads, resolved inside the extracted packages.
		cp "$PKG/usr/sbin/qemu-ga" usr/sbin/
		ldso=$PKG/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
		libs=$("$ldso" --library-path "$PKG/lib/x86_64-linux-gnu:$PKG/usr/lib/x86_64-linux-gnu" \
			--list "$PKG/usr/sbin/qemu-ga" | awk '$2 == "=>" { print $3 }')
		for l in $libs; do
			case "$l" in "$PKG"/*) ;; *) die "qemu-ga needs $l, which is not from the downloaded packages" ;; esac
			cp -L "$l" "lib/x86_64-linux-gnu/$(basename "$l")"
		done
		cp -L "$ldso" lib/x86_64-linux-gnu/
		ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 lib64/ld-linux-x86-64.so.2
		# Kernel modules and the index busybox modprobe reads.
		mkdir -p "lib/modules/$KVER"
		for m in $(modorder $ROOTFS_MODULES); do
			mkdir -p "lib/modules/$KVER/$(dirname "$m")"
			cp "$MODDIR/$m" "lib/modules/$KVER/$m"
		done
		cp "$MODDIR/modules.builtin" "$MODDIR/modules.order" "lib/modules/$KVER/" 2>/dev/null || true
		"$BB" depmod -b "$ROOTFS" "$KVER"
		# Guest configuration (init, acpid, udhcpc, users, qemu-ga's shutdown). Busybox
		# has no shutdown applet; were one linked, cp would write through the link.
		rm -f sbin/shutdown
		cp -a "$HERE/rootfs/." .
		chmod 0755 etc/init.d/rcS etc/init.d/rcK etc/acpi/PWRF/00000080 usr/libexec/qga-run sbin/shutdown \
			usr/libexec/cloud-init-lite usr/share/udhcpc/default.script
		hash=$("$BB" mkpasswd -m sha512 "$PASSWORD" virtnodeguest)
		printf 'root:%s:19000:0:99999:7:::\ncirros:%s:19000:0:99999:7:::\n' "$hash" "$hash" >etc/shadow
		chmod 0600 etc/shadow
		chmod 0700 root
		chmod 1777 tmp
		chown 1000:1000 home/cirros
		echo "$GUEST_HOSTNAME" >etc/hostname
	)
	# Fixed mtimes (and cpio --reproducible, gzip -n): the same packages give the same
	# initrd.img, so the kernelboot image digest is reproducible.
	find "$ROOTFS" -exec touch -h -d @0 {} +
	date -u >"$ROOTFS/.stamp"
fi

# --- 4. kernel: vmlinuz as shipped, vmlinux unpacked from it (PVH entry for -kernel) ---
VMLINUZ=$CACHE/vmlinuz
VMLINUX=$CACHE/vmlinux
# The decompressor puts the kernel at 16 MiB (LOAD_PHYSICAL_ADDR) or higher, and this
# kernel's image spans 46 MiB from there: it cannot even start in the 61 MiB the seed
# VM asks for. The kernel proper runs at any 2 MiB-aligned physical address (it
# computes phys_base; virtual addresses do not move, so no relocation is needed),
# so lower the decompressor's floor to 2 MiB: the four immediates of
# "cmp $LOAD_PHYSICAL_ADDR" / "mov $LOAD_PHYSICAL_ADDR" in startup_32 and
# startup_64, and the header's pref_address (boot protocol field 0x258).
# patch_kernel_floor FILE: patches in place; fails unless each pattern occurs once.
patch_kernel_floor() {
	local f=$1 pm head off pat
	pm=$((($(od -An -tu1 -j $((0x1f1)) -N1 "$f") + 1) * 512))
	head=$(mktemp)
	head -c $((pm + 0x400)) "$f" | tail -c +$((pm + 1)) >"$head"
	# cmp $0x1000000,%ebx; jae | mov $0x1000000,%ebx | cmp $0x1000000,%rbp; jae | mov $0x1000000,%rbp
	for pat in '\x81\xfb\x00\x00\x00\x01\x73' '\x73\x05\xbb\x00\x00\x00\x01' \
		'\x48\x81\xfd\x00\x00\x00\x01\x73' '\x73\x07\x48\xc7\xc5\x00\x00\x00\x01'; do
		off=$(LC_ALL=C grep -obUaP "$pat" "$head" | cut -d: -f1)
		[ "$(echo "$off" | wc -w)" = 1 ] || { rm -f "$head"; die "kernel decompressor pattern $pat found ${off:-0 times} (expected once)"; }
		# the immediate is the 4 bytes that end with the 0x01 of 0x01000000
		case "$pat" in *'\x73' ) off=$((off + ${#pat} / 4 - 5)) ;; *) off=$((off + ${#pat} / 4 - 4)) ;; esac
		printf '\x00\x00\x20\x00' | dd of="$f" bs=1 seek=$((pm + off)) conv=notrunc status=none
	done
	rm -f "$head"
	printf '\x00\x00\x20\x00\x00\x00\x00\x00' | dd of="$f" bs=1 seek=$((0x258)) conv=notrunc status=none
}
if ! fresh "$VMLINUZ" "$PKG/.stamp" "$SELF"; then
	cp "$PKG/boot/vmlinuz-$KVER" "$VMLINUZ.tmp"
	patch_kernel_floor "$VMLINUZ.tmp"
	mv "$VMLINUZ.tmp" "$VMLINUZ"
fi
if ! fresh "$VMLINUX" "$VMLINUZ"; then
	# The bzImage payload is a legacy LZ4 frame (magic 02 21 4c 18); lz4 stops at its end
	# and complains about the trailer that follows, so judge by the output instead.
	off=$(grep -obUaP '\x02\x21\x4c\x18' "$VMLINUZ" | head -1 | cut -d: -f1)
	[ -n "$off" ] || die "no LZ4 payload in $VMLINUZ"
	tail -c +$((off + 1)) "$VMLINUZ" | lz4 -dc >"$VMLINUX.tmp" 2>/dev/null || true
	[ "$(head -c 4 "$VMLINUX.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] || die "unpacked vmlinux is not ELF"
	mv "$VMLINUX.tmp" "$VMLINUX"
fi

# --- 5. the disk's module-only initramfs ---
DISK_INITRD=$CACHE/disk-initrd.img
if ! fresh "$DISK_INITRD" "$PKG/.stamp" "$SELF" "$HERE/initramfs"; then
	log "building module initramfs"
	d=$CACHE/initramfs.tmp
	rm -rf "$d"
	mkdir -p "$d"/{bin,dev,proc,sys,newroot,lib/modules}
	cp "$BB" "$d/bin/busybox"
	for a in sh mount umount insmod cat findfs usleep switch_root; do ln -s busybox "$d/bin/$a"; done
	order=
	for p in $(modorder $INITRD_MODULES); do
		m=$(basename "$p" .ko)
		cp "$MODDIR/$p" "$d/lib/modules/$m.ko"
		order="$order $m"
	done
	echo $order >"$d/modules"
	cp "$HERE/initramfs/init" "$d/init"
	chmod 0755 "$d/init"
	find "$d" -exec touch -h -d @0 {} +
	(cd "$d" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet | gzip -9 -n) >"$DISK_INITRD.tmp"
	mv "$DISK_INITRD.tmp" "$DISK_INITRD"
	rm -rf "$d"
fi

# --- 6. kernelBoot initramfs: the whole root filesystem ---
INITRD=$CACHE/initrd.img
if ! fresh "$INITRD" "$ROOTFS/.stamp"; then
	log "building kernelBoot initramfs"
	(cd "$ROOTFS" && find . -mindepth 1 ! -name .stamp | LC_ALL=C sort | cpio -o -H newc --reproducible --quiet | gzip -9 -n) >"$INITRD.tmp"
	mv "$INITRD.tmp" "$INITRD"
fi

# --- 7. the BIOS disk: MBR, one ext4 partition with the root fs, kernel and extlinux ---
DISK=$CACHE/disk.qcow2
if ! fresh "$DISK" "$ROOTFS/.stamp" "$VMLINUZ" "$DISK_INITRD" "$SELF"; then
	log "building disk image"
	w=$CACHE/disk.tmp
	rm -rf "$w"
	mkdir -p "$w/mnt"
	loopdev=
	cleanup() {
		if mountpoint -q "$w/mnt" 2>/dev/null; then umount "$w/mnt" || umount -l "$w/mnt"; fi
		if [ -n "$loopdev" ]; then losetup -d "$loopdev" 2>/dev/null || true; fi
		rm -rf "$w"
	}
	trap cleanup EXIT
	tree=$w/tree
	cp -a "$ROOTFS" "$tree"
	rm -f "$tree/.stamp"
	mkdir -p "$tree/boot/extlinux"
	cat >"$tree/boot/extlinux/extlinux.conf" <<-EOF
		DEFAULT virtnode
		PROMPT 0
		TIMEOUT 0
		LABEL virtnode
		  LINUX /boot/vmlinuz
		  INITRD /boot/initrd.img
		  APPEND $DISK_KERNEL_ARGS
	EOF
	# Partition size: the tree plus headroom for the journal, inodes and guest writes.
	used_kib=$(($(du -sk "$tree" | cut -f1) + $(du -sk "$VMLINUZ" | cut -f1) + $(du -sk "$DISK_INITRD" | cut -f1)))
	part_mib=$(((used_kib * 13 / 10) / 1024 + 24))
	start=2048 # sectors: 1 MiB alignment
	part_sectors=$((part_mib * 2048))
	# mke2fs -d fills the filesystem from the tree: no copy through a mount needed.
	# No 64bit/metadata_csum_seed/orphan_file: extlinux 6.04 cannot read them.
	mke2fs -q -t ext4 -b 4096 -L "$ROOT_LABEL" -E root_owner=0:0 -O ^64bit,^metadata_csum_seed,^orphan_file -m 0 -N 2048 -d "$tree" "$w/part.img" "${part_mib}M" >/dev/null
	# extlinux installs only into a mounted filesystem; the partition offset comes
	# from the MBR's hand-over at boot, so installing on the bare partition is fine.
	# The kernel and initrd are copied through the mount, not by mke2fs -d: mke2fs
	# turns zero blocks into holes, and extlinux fails on sparse files ("I/O error").
	loopdev=$(losetup -f --show "$w/part.img")
	mount -t ext4 "$loopdev" "$w/mnt"
	cp "$VMLINUZ" "$w/mnt/boot/vmlinuz"
	cp "$DISK_INITRD" "$w/mnt/boot/initrd.img"
	extlinux --install "$w/mnt/boot/extlinux" >/dev/null 2>&1 || die "extlinux --install failed"
	umount "$w/mnt"
	losetup -d "$loopdev"
	loopdev=
	# MBR: syslinux boot code, one active Linux partition.
	raw=$w/disk.raw
	truncate -s $(((start + part_sectors) * 512)) "$raw"
	dd if="$MBR_BIN" of="$raw" bs=440 count=1 conv=notrunc status=none
	le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }
	# status 0x80 (active), CHS fields 0xfe 0xff 0xff (use LBA), type 0x83.
	entry="\\x80\\xfe\\xff\\xff\\x83\\xfe\\xff\\xff$(le32 $start)$(le32 $part_sectors)"
	printf "$entry" | dd of="$raw" bs=1 seek=446 conv=notrunc status=none
	printf '\x55\xaa' | dd of="$raw" bs=1 seek=510 conv=notrunc status=none
	dd if="$w/part.img" of="$raw" bs=1M seek=1 conv=notrunc,sparse status=none
	qemu-img convert -f raw -O qcow2 ${VIRTNODE_GUEST_QCOW2_OPTS:-} "$raw" "$DISK.tmp"
	mv "$DISK.tmp" "$DISK"
	trap - EXIT
	cleanup
fi

# --- 7b. the UEFI disks: Debian's Secure Boot chain on an ESP, and an unsigned kernel ---
# efi-disk.qcow2: MBR with an ESP (type 0xEF, FAT) and the same ext4 root as disk.qcow2.
# The ESP holds Debian's signed chain as a removable-media boot path: shim (signed by
# Microsoft's UEFI CA, so OVMF_VARS_4M.ms.fd admits it) as \EFI\BOOT\BOOTX64.EFI, which
# loads Debian's signed grub (\EFI\BOOT\grubx64.efi, checked against the Debian CA built
# into shim), which boots the kernel exactly as the package ships it (Debian-signed,
# checked through shim; not the floor-patched vmlinuz, whose signature no longer holds)
# with the module-only initramfs (not checked: grub verifies kernels only). Boots
# without Secure Boot too. The kernel sits at the 16 MiB it was built for: ~256 MiB RAM.
# efi-unsigned.qcow2: an ESP whose BOOTX64.EFI is that kernel with its signature
# removed (sbattach --remove): Secure Boot firmware must refuse to load it.
EFI_DISK=$CACHE/efi-disk.qcow2
EFI_UNSIGNED=$CACHE/efi-unsigned.qcow2
EFI_DEBS=$CACHE/debs-efi
EFI_PACKAGES="shim-signed grub-efi-amd64-signed"
if [ "$REFETCH" = 1 ] || [ ! -s "$EFI_DEBS/list" ] || ! (cd "$EFI_DEBS" && xargs -r ls <list >/dev/null 2>&1); then
	log "downloading $EFI_PACKAGES"
	mkdir -p "$EFI_DEBS"
	rm -f "$EFI_DEBS"/*.deb "$EFI_DEBS/list"
	(cd "$EFI_DEBS" && apt-get download -qq -o APT::Sandbox::User=root $EFI_PACKAGES)
	(cd "$EFI_DEBS" && ls -1 -- *.deb >list)
fi
# mbr_disk OUT PART...: a raw disk OUT with one MBR primary partition per "TYPE:IMAGE"
# (hex type, a raw partition image), 1 MiB aligned, no boot code.
mbr_disk() {
	local out=$1 lba=2048 n=0 spec type img sectors
	shift
	truncate -s 1M "$out"
	for spec in "$@"; do
		type=${spec%%:*} img=${spec#*:}
		sectors=$(($(stat -c %s "$img") / 512))
		le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }
		printf "\\x00\\xfe\\xff\\xff\\x$type\\xfe\\xff\\xff$(le32 $lba)$(le32 $sectors)" | dd of="$out" bs=1 seek=$((446 + 16 * n)) conv=notrunc status=none
		dd if="$img" of="$out" bs=512 seek=$lba conv=notrunc,sparse status=none
		lba=$((lba + (sectors + 2047) / 2048 * 2048))
		n=$((n + 1))
	done
	truncate -s $((lba * 512)) "$out"
	printf '\x55\xaa' | dd of="$out" bs=1 seek=510 conv=notrunc status=none
}
if ! fresh "$EFI_DISK" "$ROOTFS/.stamp" "$DISK_INITRD" "$PKG/.stamp" "$EFI_DEBS/list" "$SELF" ||
	! fresh "$EFI_UNSIGNED" "$PKG/.stamp" "$SELF"; then
	for tool in mkfs.vfat mmd mcopy sbattach sbverify; do
		command -v "$tool" >/dev/null || die "missing $tool (apt-get install dosfstools mtools sbsigntool)"
	done
	log "building UEFI disks"
	w=$CACHE/efi.tmp
	rm -rf "$w"
	mkdir -p "$w/pkg"
	while read -r deb; do dpkg-deb -x "$EFI_DEBS/$deb" "$w/pkg"; done <"$EFI_DEBS/list"
	SHIM=$w/pkg/usr/lib/shim/shimx64.efi.signed
	GRUB=$w/pkg/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed
	KSIGNED=$PKG/boot/vmlinuz-$KVER
	for f in "$SHIM" "$GRUB"; do [ -s "$f" ] || die "missing $f in $EFI_PACKAGES"; done
	sbverify --list "$KSIGNED" 2>/dev/null | grep -q 'Debian Secure Boot' || die "$KSIGNED carries no Debian Secure Boot signature"
	cp "$KSIGNED" "$w/vmlinuz-unsigned"
	sbattach --remove "$w/vmlinuz-unsigned" >/dev/null
	if sbverify --list "$w/vmlinuz-unsigned" 2>/dev/null | grep -q 'signature 1'; then die "sbattach left a signature on the kernel"; fi
	# The signed grub reads grub.cfg from $cmdpath, the directory it was loaded from.
	cat >"$w/grub.cfg" <<-GRUB
		set timeout=0
		set default=0
		menuentry virtnode {
		  linux /vmlinuz $DISK_KERNEL_ARGS
		  initrd /initrd.img
		}
	GRUB
	mkfs.vfat -C -n VIRTNODEESP -F 16 "$w/esp.img" $((40 * 1024)) >/dev/null
	mmd -i "$w/esp.img" ::/EFI ::/EFI/BOOT
	mcopy -i "$w/esp.img" "$SHIM" ::/EFI/BOOT/BOOTX64.EFI
	mcopy -i "$w/esp.img" "$GRUB" ::/EFI/BOOT/grubx64.efi
	mcopy -i "$w/esp.img" "$w/grub.cfg" ::/EFI/BOOT/grub.cfg
	mcopy -i "$w/esp.img" "$KSIGNED" ::/vmlinuz
	mcopy -i "$w/esp.img" "$DISK_INITRD" ::/initrd.img
	tree=$w/tree
	cp -a "$ROOTFS" "$tree"
	rm -f "$tree/.stamp"
	used_kib=$(du -sk "$tree" | cut -f1)
	mke2fs -q -t ext4 -b 4096 -L "$ROOT_LABEL" -E root_owner=0:0 -m 0 -N 2048 -d "$tree" "$w/root.img" "$(((used_kib * 13 / 10) / 1024 + 24))M" >/dev/null
	mbr_disk "$w/efi.raw" ef:"$w/esp.img" 83:"$w/root.img"
	qemu-img convert -f raw -O qcow2 "$w/efi.raw" "$EFI_DISK.tmp"
	mv "$EFI_DISK.tmp" "$EFI_DISK"
	mkfs.vfat -C -n UNSIGNED -F 16 "$w/unsigned.img" $((16 * 1024)) >/dev/null
	mmd -i "$w/unsigned.img" ::/EFI ::/EFI/BOOT
	mcopy -i "$w/unsigned.img" "$w/vmlinuz-unsigned" ::/EFI/BOOT/BOOTX64.EFI
	mbr_disk "$w/unsigned.raw" ef:"$w/unsigned.img"
	qemu-img convert -f raw -O qcow2 "$w/unsigned.raw" "$EFI_UNSIGNED.tmp"
	mv "$EFI_UNSIGNED.tmp" "$EFI_UNSIGNED"
	rm -rf "$w"
fi

# --- 8. OCI image layouts (deterministic: sorted names, fixed mtime, numeric owner) ---
# oci_layout DIR CONFIG_LABEL STAGE: one-layer image of the tree STAGE into layout DIR.
oci_layout() {
	local dir=$1 stage=$2 tmp=$1.tmp layer diff_id layer_digest layer_size cfg cfg_digest cfg_size man man_digest man_size
	rm -rf "$tmp"
	mkdir -p "$tmp/blobs/sha256"
	layer=$tmp/layer.tar.gz
	# Entries named like a Dockerfile's ADD makes them: disk/disk.qcow2, no "./".
	(cd "$stage" && tar --sort=name --mtime=@0 --numeric-owner --format=gnu -cf - -- *) >"$tmp/layer.tar"
	diff_id=$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)
	gzip -6 -n -c "$tmp/layer.tar" >"$layer"
	rm "$tmp/layer.tar"
	layer_digest=$(sha256sum "$layer" | cut -d' ' -f1)
	layer_size=$(stat -c %s "$layer")
	mv "$layer" "$tmp/blobs/sha256/$layer_digest"
	cfg=$(printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"test/guest/build.sh"}]}' "$diff_id")
	cfg_digest=$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)
	cfg_size=${#cfg}
	printf '%s' "$cfg" >"$tmp/blobs/sha256/$cfg_digest"
	man=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%d}]}' \
		"$cfg_digest" "$cfg_size" "$layer_digest" "$layer_size")
	man_digest=$(printf '%s' "$man" | sha256sum | cut -d' ' -f1)
	man_size=${#man}
	printf '%s' "$man" >"$tmp/blobs/sha256/$man_digest"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$tmp/oci-layout"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
		"$man_digest" "$man_size" >"$tmp/index.json"
	rm -rf "$dir"
	mv "$tmp" "$dir"
}

OCI=$CACHE/oci
mkdir -p "$OCI"
if ! fresh "$OCI/containerdisk/index.json" "$DISK" "$SELF"; then
	log "building containerdisk OCI layout"
	s=$CACHE/stage.tmp
	rm -rf "$s"
	mkdir -p "$s/disk"
	cp "$DISK" "$s/disk/disk.qcow2"
	# KubeVirt's containerDisks: owned by qemu (107:107), readable only by it.
	chown -R 107:107 "$s/disk"
	chmod 0555 "$s/disk"
	chmod 0440 "$s/disk/disk.qcow2"
	oci_layout "$OCI/containerdisk" "$s"
	rm -rf "$s"
fi
# The UEFI disks as containerDisks too (efidisk: the signed chain, efiunsigned: the unsigned kernel).
for pair in efidisk:"$EFI_DISK" efiunsigned:"$EFI_UNSIGNED"; do
	name=${pair%%:*} src=${pair#*:}
	if ! fresh "$OCI/$name/index.json" "$src" "$SELF"; then
		log "building $name OCI layout"
		s=$CACHE/stage.tmp
		rm -rf "$s"
		mkdir -p "$s/disk"
		cp "$src" "$s/disk/disk.qcow2"
		chown -R 107:107 "$s/disk"
		chmod 0555 "$s/disk"
		chmod 0440 "$s/disk/disk.qcow2"
		oci_layout "$OCI/$name" "$s"
		rm -rf "$s"
	fi
done
if ! fresh "$OCI/kernelboot/index.json" "$VMLINUZ" "$INITRD" "$SELF"; then
	log "building kernelboot OCI layout"
	s=$CACHE/stage.tmp
	rm -rf "$s"
	mkdir -p "$s/boot"
	cp "$VMLINUZ" "$s/boot/vmlinuz"
	cp "$INITRD" "$s/boot/initrd.img"
	chown -R 107:107 "$s/boot"
	chmod 0555 "$s/boot"
	chmod 0444 "$s/boot/vmlinuz" "$s/boot/initrd.img"
	oci_layout "$OCI/kernelboot" "$s"
	rm -rf "$s"
fi

# What the kernelBoot pair wants on its command line (test/guest/index.ts checks it).
[ "$(cat "$CACHE/kernel-args" 2>/dev/null)" = "$KERNEL_ARGS_COMMON" ] || echo "$KERNEL_ARGS_COMMON" >"$CACHE/kernel-args"

# --- sanity ---
for f in "$DISK" "$EFI_DISK" "$EFI_UNSIGNED" "$VMLINUZ" "$VMLINUX" "$INITRD" "$DISK_INITRD" \
	"$OCI/containerdisk/index.json" "$OCI/containerdisk/oci-layout" \
	"$OCI/kernelboot/index.json" "$OCI/kernelboot/oci-layout" "$OCI/efidisk/index.json" "$OCI/efiunsigned/index.json"; do
	[ -s "$f" ] || die "missing or empty output $f"
done
for d in "$OCI/containerdisk" "$OCI/kernelboot" "$OCI/efidisk" "$OCI/efiunsigned"; do
	[ "$(find "$d/blobs/sha256" -type f -size +0 | wc -l)" = 3 ] || die "$d must hold 3 non-empty blobs"
done
hsize() { du -sh --apparent-size "$1" | cut -f1; }
printf 'guest %s: disk.qcow2 %s (initrd %s), efi-disk.qcow2 %s, efi-unsigned.qcow2 %s, vmlinuz %s, vmlinux %s, initrd.img %s, oci containerdisk %s, kernelboot %s in %.1fs\n' \
	"$KVER" "$(hsize "$DISK")" "$(hsize "$DISK_INITRD")" "$(hsize "$EFI_DISK")" "$(hsize "$EFI_UNSIGNED")" "$(hsize "$VMLINUZ")" "$(hsize "$VMLINUX")" "$(hsize "$INITRD")" \
	"$(hsize "$OCI/containerdisk")" "$(hsize "$OCI/kernelboot")" "$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')"
