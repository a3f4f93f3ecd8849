/**
 * On a cgroup v2 engine, each node gets its own cgroup delegated to it, so the rootless engine
 * inside can enforce `docker run --memory` and `--cpus` (a lesson on resource limits needs it).
 *
 * What delegation is (the kernel's and systemd's meaning): the node's uid owns its cgroup's
 * directory and the three files that move processes and enable controllers (cgroup.procs,
 * cgroup.subtree_control, cgroup.threads), and nothing else. It can make child cgroups and set
 * their limits; it cannot raise its own memory.max, cpu.max or pids.max (still root's), and it
 * sees nothing above its cgroup (the node runs in a cgroup namespace of its own).
 *
 * The node's entrypoint (images/sandbox/entrypoint.sh) waits for the ownership, mounts its own
 * cgroup2 in a cgroup namespace owned by its user namespace, moves its processes into a leaf
 * and enables the controllers for the inner engine. Ownership is given from a short-lived
 * container with the host's cgroup tree mounted and only CAP_CHOWN, through the engine, as the
 * firewall is: the server needs no root of its own. Nothing changes on cgroup v1 engines.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../log.ts';
import { idempotent, type Docker } from './engine.ts';
import { baseLabels, objectName } from './labels.ts';

/** The files besides the directory itself that a delegated cgroup's owner gets. */
export const delegatedFiles = ['cgroup.procs', 'cgroup.subtree_control', 'cgroup.threads'] as const;

/**
 * Where the engine put a container's cgroup, relative to the cgroup2 root: systemd's driver
 * makes a scope in system.slice, cgroupfs a directory in /docker (their defaults; an engine
 * with a cgroup-parent of its own is not supported and the node runs without inner limits).
 */
export function hostCgroupPath(engineCgroupDriver: string | undefined, containerId: string): string {
  if (!/^[0-9a-f]{64}$/.test(containerId)) throw new Error(`not a container id: ${containerId}`);
  return engineCgroupDriver === 'systemd' ? `system.slice/docker-${containerId}.scope` : `docker/${containerId}`;
}

/** The helper's shell script: for each "path uid" line of $SLIPWAY_DELEGATE, the delegation above. */
export const delegationScript = [
  'set -eu',
  'printf \'%s\\n\' "$SLIPWAY_DELEGATE" | while read -r path uid; do',
  '  dir="${SLIPWAY_CGROUP_ROOT:-/host-cgroup}/$path"',
  '  [ -f "$dir/cgroup.procs" ] || { echo "no cgroup at $path" >&2; exit 1; }',
  `  chown "$uid:$uid" "$dir" ${delegatedFiles.map((file) => `"$dir/${file}"`).join(' ')}`,
  'done',
].join('\n');

export interface DelegatedNode {
  containerId: string;
  uid: number;
}

/** Gives each node's uid its cgroup; one helper container for a whole batch of nodes. */
export async function delegateCgroups(
  docker: Docker,
  options: { instance: string; image: string; engineCgroupDriver: string | undefined },
  nodes: DelegatedNode[],
  log: Logger,
): Promise<void> {
  if (nodes.length === 0) return;
  const lines = nodes.map((node) => `${hostCgroupPath(options.engineCgroupDriver, node.containerId)} ${node.uid}`).join('\n');
  const container = await docker.createContainer({
    name: objectName(options.instance, 'cgroups', randomBytes(4).toString('hex')),
    Image: options.image,
    Labels: baseLabels(options.instance, 'helper'),
    User: '0:0',
    Entrypoint: ['sh', '-c', delegationScript],
    Env: [`SLIPWAY_DELEGATE=${lines}`],
    HostConfig: {
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      CapAdd: ['CHOWN'],
      SecurityOpt: ['no-new-privileges'],
      Binds: ['/sys/fs/cgroup:/host-cgroup:rw'],
    },
  } as Parameters<Docker['createContainer']>[0]);
  try {
    await container.start();
    const result = (await container.wait()) as { StatusCode: number };
    if (result.StatusCode !== 0) {
      const logs = (await container.logs({ stdout: true, stderr: true })).toString().trim();
      throw new Error(`delegating the nodes' cgroups failed: ${logs}`);
    }
    log.debug('cgroups delegated', { nodes: nodes.length });
  } finally {
    await idempotent(() => container.remove({ force: true, v: true }));
  }
}
