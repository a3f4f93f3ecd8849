#!/usr/bin/env bash
# Builds the disk of a throwaway Debian 12 virtual machine from Debian's packages, for
# scripts/vm/run.sh: debootstrap (on the host, at native speed) with the distribution kernel,
# systemd, ca-certificates, curl, git and an SSH server (how run.sh drives the guest), then a
# sparse raw disk made from that folder with mkfs.ext4 -d (no loop device, no mount).
#
# The host's extra CA certificates (/usr/local/share/ca-certificates, where an HTTPS-intercepting
# proxy's CA lives) are installed in the guest, so curl, npm and apt there trust what the host
# trusts. Nothing of Slipway is installed: run.sh copies the repository in and runs the README's
# commands, as a new user would.
#
#   scripts/vm/build-image.sh [--fresh]    (as root; the disk is kept in .slipway/vm/ for reuse)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
vm_dir="${SLIPWAY_VM_DIR:-$root/.slipway/vm}"
mirror="${SLIPWAY_VM_MIRROR:-http://deb.debian.org/debian}"
disk_size="${SLIPWAY_VM_DISK:-24G}"
say() { printf 'slipway-vm: %s\n' "$*" >&2; }
die() { printf 'slipway-vm: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "building the VM disk needs root (debootstrap): run it with sudo."
[ "${1:-}" = --fresh ] && rm -f "$vm_dir/base.img"
mkdir -p "$vm_dir"
if [ -s "$vm_dir/base.img" ] && [ -s "$vm_dir/vmlinuz" ] && [ -s "$vm_dir/id_ed25519" ]; then
  say "reusing $vm_dir/base.img (--fresh builds it again)"
  exit 0
fi

# --- host tools, once --------------------------------------------------------------------
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v qemu-img >/dev/null || need+=(qemu-utils)
[ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v ssh >/dev/null || need+=(openssh-client)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]} on the host (once)…"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$vm_dir/apt.log" 2>&1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >>"$vm_dir/apt.log" 2>&1 \
    || die "installing ${need[*]} failed (see $vm_dir/apt.log)."
fi

# --- the guest's root filesystem --------------------------------------------------------
rootfs="$vm_dir/rootfs"
rm -rf "$rootfs"
started=$(date +%s)
say "debootstrap bookworm with the kernel, systemd and an SSH server (log: $vm_dir/debootstrap.log)…"
debootstrap --variant=minbase \
  --include=linux-image-amd64,systemd,systemd-sysv,udev,dbus,ca-certificates,curl,git,openssh-server,iproute2,ifupdown,isc-dhcp-client,procps,sudo,kmod,e2fsprogs \
  bookworm "$rootfs" "$mirror" >"$vm_dir/debootstrap.log" 2>&1 || { tail -n 5 "$vm_dir/debootstrap.log" >&2; die "debootstrap failed (see $vm_dir/debootstrap.log)."; }

say "configuring the guest…"
echo slipway-vm >"$rootfs/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 slipway-vm\n' >"$rootfs/etc/hosts"
printf '/dev/vda / ext4 defaults,discard 0 1\n' >"$rootfs/etc/fstab"
cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
# QEMU's user-mode network: DHCP on the one interface.
cat >"$rootfs/etc/network/interfaces" <<'EOF'
auto lo
iface lo inet loopback
allow-hotplug ens3
iface ens3 inet dhcp
allow-hotplug eth0
iface eth0 inet dhcp
EOF
# A root shell on the serial console too, for looking at a guest that has no network.
mkdir -p "$rootfs/etc/systemd/system/serial-getty@ttyS0.service.d"
printf '[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin root --noclear %%I 115200 linux\n' \
  >"$rootfs/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf"
# The key run.sh logs in with; only the host's loopback reaches the guest's SSH port.
rm -f "$vm_dir/id_ed25519" "$vm_dir/id_ed25519.pub"
ssh-keygen -q -t ed25519 -N '' -C slipway-vm -f "$vm_dir/id_ed25519"
install -d -m 0700 "$rootfs/root/.ssh"
install -m 0600 "$vm_dir/id_ed25519.pub" "$rootfs/root/.ssh/authorized_keys"
# The host's extra CAs (an intercepting proxy's), into the guest's store.
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
  chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
fi
# A proxy the host uses is the guest's too (QEMU's user network reaches the host's as 10.0.2.2).
for var in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
  [ -n "${!var:-}" ] && echo "$var=${!var//127.0.0.1/10.0.2.2}" >>"$rootfs/etc/environment"
done
chroot "$rootfs" apt-get clean

# The kernel and initramfs boot directly (-kernel/-initrd): no boot loader to install.
cp -L "$rootfs/vmlinuz" "$vm_dir/vmlinuz"
cp -L "$rootfs/initrd.img" "$vm_dir/initrd.img"

say "making the $disk_size sparse disk…"
rm -f "$vm_dir/base.img.new"
truncate -s "$disk_size" "$vm_dir/base.img.new"
mkfs.ext4 -q -F -L slipway-vm -d "$rootfs" "$vm_dir/base.img.new"
mv "$vm_dir/base.img.new" "$vm_dir/base.img"
rm -rf "$rootfs"
say "disk ready in $(($(date +%s) - started)) s: $vm_dir/base.img ($(du -h "$vm_dir/base.img" | cut -f1) used)"
