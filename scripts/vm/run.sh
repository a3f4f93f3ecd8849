#!/usr/bin/env bash
# Proof that the README works on a fresh Debian 12 machine: boots a throwaway virtual machine
# (disk from scripts/vm/build-image.sh), copies this commit in as a `git clone`, runs
# `./slipway start` there as a new user would, and drives a lesson from the host in Chromium
# (scripts/vm/lesson-check.ts): the prompt, `docker run hello-world`, the step turning done, an
# inner `--memory` limit (the guest boots with cgroup v2).
#
#   sudo scripts/vm/run.sh            all of it, then the VM is switched off and thrown away
#   sudo scripts/vm/run.sh boot       only boot the VM (and leave it running)
#   sudo scripts/vm/run.sh ssh [cmd]  a shell (or a command) in the running VM
#   sudo scripts/vm/run.sh start      copy the repository in and run ./slipway start in the VM
#   sudo scripts/vm/run.sh check      the browser check against the running VM
#   sudo scripts/vm/run.sh stop       switch the VM off and remove its disk
#
# QEMU uses KVM where it works and otherwise its emulator (TCG), with one virtual CPU and
# `nice`, so the machine's other work goes on. Ports on the host: 127.0.0.1:$SLIPWAY_VM_SSH_PORT
# (SSH) and 127.0.0.1:$SLIPWAY_VM_PORT (Slipway in the guest); nothing listens elsewhere.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
vm_dir="${SLIPWAY_VM_DIR:-$root/.slipway/vm}"
ssh_port="${SLIPWAY_VM_SSH_PORT:-2222}"
web_port="${SLIPWAY_VM_PORT:-18080}"
memory_mb="${SLIPWAY_VM_MEMORY_MB:-6144}"
cpus="${SLIPWAY_VM_CPUS:-1}"
say() { printf 'slipway-vm: %s (%s)\n' "$1" "$(date -u +%H:%M:%S)" >&2; }
die() { printf 'slipway-vm: %s\n' "$*" >&2; exit 1; }
stamp() { date +%s; }

ssh_guest() {
  ssh -q -i "$vm_dir/id_ed25519" -p "$ssh_port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o ConnectTimeout=10 -o ServerAliveInterval=30 -o BatchMode=yes root@127.0.0.1 "$@"
}

accel() {
  # /dev/kvm can exist where no guest kernel runs (a nested or paravirtual host): try it on a
  # kernel that prints at once, and fall back to the emulator.
  if [ -n "${SLIPWAY_VM_ACCEL:-}" ]; then echo "$SLIPWAY_VM_ACCEL"; return; fi
  if [ -w /dev/kvm ] && timeout 60 qemu-system-x86_64 -accel kvm -cpu host -m 256 -nodefaults -nographic -no-reboot \
      -serial stdio -kernel "$vm_dir/vmlinuz" -append 'console=ttyS0 panic=-1 root=/dev/nonexistent' 2>/dev/null | grep -qa 'Linux version'; then
    echo kvm
  else
    echo tcg
  fi
}

do_boot() {
  [ -s "$vm_dir/base.img" ] || bash "$root/scripts/vm/build-image.sh"
  if [ -s "$vm_dir/qemu.pid" ] && kill -0 "$(cat "$vm_dir/qemu.pid")" 2>/dev/null; then
    say "the VM is already running"
    return
  fi
  # The guest writes to a copy-on-write layer over the cached base, thrown away by `stop`
  # (SLIPWAY_VM_KEEP=1 boots the layer a stopped VM left, for working on this script).
  if [ "${SLIPWAY_VM_KEEP:-}" != 1 ] || [ ! -s "$vm_dir/guest.qcow2" ]; then
    rm -f "$vm_dir/guest.qcow2"
    qemu-img create -q -f qcow2 -b "$vm_dir/base.img" -F raw "$vm_dir/guest.qcow2"
  fi
  local mode cpu_flags
  mode=$(accel)
  cpu_flags=(-accel "$mode")
  # The emulator's default CPU lacks what Node's native packages are built for (esbuild and
  # Astro's compiler die with "Illegal instruction"): `max` has every feature TCG emulates.
  if [ "$mode" = kvm ]; then cpu_flags+=(-cpu host); else cpu_flags+=(-cpu max); fi
  say "booting Debian 12 with $mode, $cpus vCPU, $memory_mb MiB (console: $vm_dir/console.log)"
  local started
  started=$(stamp)
  nice -n 10 qemu-system-x86_64 "${cpu_flags[@]}" -smp "$cpus" -m "$memory_mb" \
    -nodefaults -nographic -no-reboot -serial "file:$vm_dir/console.log" -monitor none \
    -kernel "$vm_dir/vmlinuz" -initrd "$vm_dir/initrd.img" \
    -append "root=/dev/vda rw console=ttyS0 net.ifnames=0 systemd.unified_cgroup_hierarchy=1 quiet" \
    -drive "file=$vm_dir/guest.qcow2,if=virtio,format=qcow2,cache=unsafe,discard=unmap" \
    -netdev "user,id=net0,hostfwd=tcp:127.0.0.1:$ssh_port-:22,hostfwd=tcp:127.0.0.1:$web_port-:8080" \
    -device virtio-net-pci,netdev=net0 -device virtio-rng-pci \
    -pidfile "$vm_dir/qemu.pid" -daemonize
  for _ in $(seq 1 180); do
    ssh_guest true 2>/dev/null && break
    sleep 5
  done
  ssh_guest true || die "the VM did not answer on SSH within 15 minutes; see $vm_dir/console.log."
  say "VM up in $(($(stamp) - started)) s: $(ssh_guest 'uname -r; stat -fc %T /sys/fs/cgroup' | tr '\n' ' ')"
  echo "$mode" >"$vm_dir/accel"
}

do_start() {
  local started
  started=$(stamp)
  # The repository as a new user gets it: a clone of this commit, nothing of this machine's
  # node_modules, .slipway or build output.
  local clone
  clone=$(mktemp -d)
  git clone -q --no-local "$root" "$clone/slipway"
  git -C "$clone/slipway" checkout -q "$(git -C "$root" rev-parse HEAD)"
  # (SLIPWAY_VM_KEEP=1: over the last copy, keeping its node_modules and .slipway.)
  [ "${SLIPWAY_VM_KEEP:-}" = 1 ] || ssh_guest 'rm -rf /root/slipway'
  tar -C "$clone" -cf - slipway | ssh_guest 'tar -C /root -xf -'
  rm -rf "$clone"
  say "copied $(git -C "$root" rev-parse --short HEAD) into the VM; running ./slipway start there (log: $vm_dir/guest-start.log)"
  # Detached from this SSH session so it keeps serving; its output is fetched for the log.
  ssh_guest 'cd /root/slipway && (setsid nohup ./slipway start >/root/slipway-start.log 2>&1 </dev/null &)'
  for _ in $(seq 1 720); do
    ssh_guest 'cat /root/slipway-start.log' >"$vm_dir/guest-start.log.new" 2>/dev/null && mv "$vm_dir/guest-start.log.new" "$vm_dir/guest-start.log" || true
    if curl -sf --max-time 5 "http://127.0.0.1:$web_port/api/health" >/dev/null; then
      say "./slipway start answered /api/health after $(($(stamp) - started)) s"
      # The start must leave a fresh clone as it found it (no rewritten package-lock.json).
      local changed
      changed=$(ssh_guest 'cd /root/slipway && git status --porcelain --untracked-files=no')
      [ -z "$changed" ] || die "./slipway start modified the clone in the VM: $changed"
      say "the clone in the VM is unmodified after the start"
      return
    fi
    ssh_guest 'pgrep -f "scripts/start.sh|server/supervisor.ts" >/dev/null' || {
      tail -n 5 "$vm_dir/guest-start.log" >&2
      die "./slipway start ended in the VM without serving; its output is in $vm_dir/guest-start.log."
    }
    sleep 10
  done
  die "./slipway start did not answer within 2 hours; its output so far is in $vm_dir/guest-start.log."
}

do_check() {
  local started
  started=$(stamp)
  cd "$root"
  source "$root/scripts/bootstrap.sh" --with-chromium
  SLIPWAY_VM_URL="http://127.0.0.1:$web_port" node "$root/scripts/vm/lesson-check.ts"
  say "browser check passed in $(($(stamp) - started)) s"
}

do_stop() {
  local pid
  pid=$(cat "$vm_dir/qemu.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    ssh_guest 'systemctl poweroff' 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill "$pid" 2>/dev/null || true
  fi
  rm -f "$vm_dir/qemu.pid"
  if [ "${SLIPWAY_VM_KEEP:-}" = 1 ]; then
    say "VM switched off; its disk layer is kept (SLIPWAY_VM_KEEP=1)"
  else
    rm -f "$vm_dir/guest.qcow2"
    say "VM switched off and its disk removed"
  fi
}

case "${1:-all}" in
  boot) do_boot ;;
  ssh) shift; ssh_guest "$@" ;;
  start) do_start ;;
  check) do_check ;;
  stop) do_stop ;;
  all)
    t0=$(stamp)
    trap do_stop EXIT
    do_boot
    do_start
    do_check
    say "the whole proof took $(($(stamp) - t0)) s"
    ;;
  *) die "usage: scripts/vm/run.sh [all|boot|ssh|start|check|stop]" ;;
esac
