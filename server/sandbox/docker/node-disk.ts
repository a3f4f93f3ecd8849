/**
 * Each node's disk: everything a node may write (its home with the inner engine's images and
 * volumes, /tmp, /var/tmp) lives in a directory of its own on one XFS filesystem, under a
 * project quota whose hard block and inode limits the filesystem enforces; the node's root
 * filesystem is read-only, so nothing else lands on the host's disk (driver.ts).
 *
 * Why one XFS filesystem with project quotas: the engine's overlay2 on ext4 has no quota, and
 * a filesystem per node (an ext4 loop image each) would cost a loop device and a mkfs per node
 * start (hundreds of each for a classroom, and tens of milliseconds on a start issue 7 wants
 * shorter). Here a node start costs a mkdir and one xfs_quota call. The filesystem lives in a
 * sparse image file beside its mount point, as large as the filesystem holding it, and is
 * mounted with `discard`, so space freed in a node goes back to the host; the free-space
 * watchdog (host-checks.ts) keeps the host itself from filling up.
 *
 * A node's project id is its uid (node-users.ts), unique among the running nodes of every
 * instance on the engine. Project ids can be changed only from the host's user namespace, and
 * a learner is root only of a namespace of their own, so a learner cannot move files out of
 * their project. With `SLIPWAY_SANDBOX_DISK_MB=0` the operator opts out: nodes get Docker
 * volumes instead (the same paths, no limit, no root needed), and start-up says so loudly.
 */
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readFile, readdir, rm, stat, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { SlipwayError } from '../../errors.ts';
import type { Logger } from '../../log.ts';

const run = promisify(execFile);

/** Paths a node writes, each mounted from the node's own disk; the rest of its filesystem is read-only. */
export const nodeWritablePaths = { home: '/home/learner', tmp: '/tmp', varTmp: '/var/tmp' } as const;
type Part = keyof typeof nodeWritablePaths;
const parts = Object.keys(nodeWritablePaths) as Part[];

/** Inodes allowed per MiB of the block limit: 4 GiB gives 262,144 files, far more than lessons make. */
export const inodesPerMb = 64;

export interface NodeMount {
  Type: 'bind' | 'volume';
  Source: string;
  Target: string;
}

/** What xfs_quota is told for a node: `limit -p bhard=… ihard=… <id>`. */
export function quotaLimits(limitMb: number): { bhard: string; ihard: number } {
  return { bhard: `${limitMb}m`, ihard: limitMb * inodesPerMb };
}

/** A path part that names one directory (a session id, a node name), never a way out of it. */
export function safeName(name: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new Error(`not a safe directory name: ${JSON.stringify(name)}`);
  return name;
}

export interface MountEntry {
  fsType: string;
  options: string[];
}

/** The filesystem mounted at `mountPoint`, from /proc/self/mountinfo (the last mount there wins). */
export function findMount(mountinfo: string, mountPoint: string): MountEntry | undefined {
  let found: MountEntry | undefined;
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const fields = left.split(' ');
    const target = (fields[4] ?? '').replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    if (target !== mountPoint) continue;
    const [fsType = '', , superOptions = ''] = right.split(' ');
    found = { fsType, options: [...(fields[5] ?? '').split(','), ...superOptions.split(',')] };
  }
  return found;
}

/** Whether a mount is XFS with project quotas enforced (shown as `prjquota` in the options). */
export function enforcesProjectQuota(mount: MountEntry | undefined): boolean {
  return mount?.fsType === 'xfs' && mount.options.some((option) => option === 'prjquota' || option === 'pquota');
}

export interface HostFacts {
  root: boolean;
  localEngine: boolean;
  filesystems: string;
  loopControl: boolean;
  tools: Record<string, boolean>;
}

/** One sentence on what the host lacks for disk quotas, and how to fix it; undefined when nothing. */
export function diskHostProblem(facts: HostFacts): string | undefined {
  const optOut = 'or set SLIPWAY_SANDBOX_DISK_MB=0 to run without a disk limit per sandbox';
  if (!facts.localEngine) return `The sandboxes' disk limit needs the Docker engine on this machine (DOCKER_HOST points elsewhere): run Slipway beside the engine, ${optOut}.`;
  if (!facts.root) return `The sandboxes' disk limit needs root to mount its XFS filesystem and set quotas: start Slipway as root, ${optOut}.`;
  if (!facts.filesystems.split('\n').some((line) => line.trim().split(/\s+/).pop() === 'xfs')) {
    return `The sandboxes' disk limit needs XFS, which this kernel does not offer: load it (modprobe xfs), ${optOut}.`;
  }
  if (!facts.loopControl) return `The sandboxes' disk limit needs loop devices (/dev/loop-control is missing): load the loop module (modprobe loop), ${optOut}.`;
  const missing = Object.entries(facts.tools).filter(([, present]) => !present).map(([tool]) => tool);
  if (missing.length > 0) return `The sandboxes' disk limit needs ${missing.join(', ')}: install xfsprogs (apt-get install xfsprogs), ${optOut}.`;
  return undefined;
}

async function hasTool(tool: string): Promise<boolean> {
  for (const dir of ['/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    if (await stat(path.join(dir, tool)).then(() => true, () => false)) return true;
  }
  return false;
}

/**
 * Mounts the image at `dir` unless something is mounted there already, creating the image (a
 * sparse file as large as the filesystem holding it) the first time. Under a lock, as several
 * instances (test runs) may start at once.
 */
const mountScript = `
set -eu
dir=$1; image=$2
mkdir -p "$dir"
mountpoint -q "$dir" && exit 0
if [ ! -e "$image" ]; then
  size=$(df --output=size -B1 "$(dirname "$image")" | tail -n 1 | tr -d ' ')
  rm -f "$image.new"
  truncate -s "$size" "$image.new"
  mkfs.xfs -q -K "$image.new"
  mv "$image.new" "$image"
fi
mount -o loop,prjquota,discard "$image" "$dir"
`;

export interface NodeDisks {
  /** The limit in MiB, or 0 when the operator opted out. */
  readonly limitMb: number;
  /** Makes the node's disk (an empty one) and returns its mounts. */
  prepare(sessionId: string, node: string, slot: { uid: number }, labels: Record<string, string>): Promise<NodeMount[]>;
  /** Removes a node's disk; removing what is gone succeeds. */
  removeNode(sessionId: string, node: string): Promise<void>;
  removeSession(sessionId: string): Promise<void>;
  /** Removes the disks of sessions not in `live`; returns how many. */
  sweep(live: ReadonlySet<string>): Promise<number>;
}

/** An XFS filesystem with a project quota per node. */
export class QuotaDisks implements NodeDisks {
  readonly limitMb: number;
  readonly #root: string;
  readonly #mountPoint: string;

  constructor(mountPoint: string, instance: string, limitMb: number) {
    this.#mountPoint = mountPoint;
    this.#root = path.join(mountPoint, safeName(instance));
    this.limitMb = limitMb;
  }

  #sessionDir(sessionId: string): string {
    return path.join(this.#root, safeName(sessionId));
  }

  nodeDir(sessionId: string, node: string): string {
    return path.join(this.#sessionDir(sessionId), safeName(node));
  }

  async prepare(sessionId: string, node: string, slot: { uid: number }): Promise<NodeMount[]> {
    const dir = this.nodeDir(sessionId, node);
    // A disk left by a start that lost its uid slot to another (node-users.ts) starts over.
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const { bhard, ihard } = quotaLimits(this.limitMb);
    const id = slot.uid;
    await run('xfs_quota', ['-x', '-c', `project -s -p ${dir} ${id}`, '-c', `limit -p bhard=${bhard} ihard=${ihard} ${id}`, this.#mountPoint]);
    // xfs_quota exits 0 even when it failed; the filesystem says whether the limit holds
    // (statfs of a directory in an enforced project reports the project's limit).
    const stats = await statfs(dir);
    if (stats.blocks * stats.bsize !== this.limitMb * 2 ** 20) {
      throw new Error(`the disk quota of ${dir} did not take (project ${id}: ${stats.blocks * stats.bsize} bytes)`);
    }
    const mounts: NodeMount[] = [];
    for (const part of parts) {
      const source = path.join(dir, part);
      // New directories inherit the project. Home belongs to the node; the temp folders are everyone's, as on any host.
      await mkdir(source);
      if (part === 'home') await chown(source, slot.uid, slot.uid);
      else await chmod(source, 0o1777);
      mounts.push({ Type: 'bind', Source: source, Target: nodeWritablePaths[part] });
    }
    return mounts;
  }

  async removeNode(sessionId: string, node: string): Promise<void> {
    await rm(this.nodeDir(sessionId, node), { recursive: true, force: true });
  }

  async removeSession(sessionId: string): Promise<void> {
    await rm(this.#sessionDir(sessionId), { recursive: true, force: true });
  }

  async sweep(live: ReadonlySet<string>): Promise<number> {
    const sessions = await readdir(this.#root).catch(() => [] as string[]);
    const dead = sessions.filter((sessionId) => !live.has(sessionId));
    for (const sessionId of dead) await this.removeSession(sessionId);
    return dead.length;
  }
}

/** The operator's opt-out: Docker volumes at the same paths, with no limit. */
export class VolumeDisks implements NodeDisks {
  readonly limitMb = 0;
  readonly #createVolume: (name: string, labels: Record<string, string>) => Promise<unknown>;
  readonly #volumeName: (sessionId: string, node: string, part: string) => string;

  constructor(createVolume: (name: string, labels: Record<string, string>) => Promise<unknown>, volumeName: (sessionId: string, node: string, part: string) => string) {
    this.#createVolume = createVolume;
    this.#volumeName = volumeName;
  }

  async prepare(sessionId: string, node: string, _slot: { uid: number }, labels: Record<string, string>): Promise<NodeMount[]> {
    return Promise.all(
      parts.map(async (part) => {
        const name = this.#volumeName(sessionId, node, part);
        await this.#createVolume(name, labels);
        return { Type: 'volume' as const, Source: name, Target: nodeWritablePaths[part] };
      }),
    );
  }

  // The driver removes a session's labelled volumes with its network.
  async removeNode(): Promise<void> {}
  async removeSession(): Promise<void> {}
  async sweep(): Promise<number> {
    return 0;
  }
}

/**
 * Checks the host, mounts the filesystem (once; again after a reboot) and returns the disks of
 * this instance's nodes. A host that cannot do it stops start-up with one sentence.
 */
export async function openQuotaDisks(options: { dir: string; instance: string; limitMb: number; localEngine: boolean }, log: Logger): Promise<QuotaDisks> {
  const tools = ['mkfs.xfs', 'xfs_quota', 'losetup', 'mount', 'mountpoint', 'flock'];
  const problem = diskHostProblem({
    root: process.getuid?.() === 0,
    localEngine: options.localEngine,
    filesystems: await readFile('/proc/filesystems', 'utf8').catch(() => ''),
    loopControl: await stat('/dev/loop-control').then((info) => info.isCharacterDevice(), () => false),
    tools: Object.fromEntries(await Promise.all(tools.map(async (tool) => [tool, await hasTool(tool)] as const))),
  });
  if (problem) throw new SlipwayError('ENGINE_UNAVAILABLE', problem);
  const dir = path.resolve(options.dir);
  const image = `${dir}.img`;
  let mount = findMount(await readFile('/proc/self/mountinfo', 'utf8'), dir);
  if (!mount) {
    await mkdir(path.dirname(dir), { recursive: true });
    const lock = `${dir}.lock`;
    await writeFile(lock, '', { flag: 'a' });
    log.info('mounting the sandboxes\' disk (XFS with project quotas)', { dir, image });
    try {
      await run('flock', [lock, 'sh', '-c', mountScript, 'mount-sandbox-disk', dir, image], { timeout: 120_000 });
    } catch (error) {
      const detail = String((error as { stderr?: unknown }).stderr ?? (error as Error).message).trim().split('\n').pop();
      throw new SlipwayError('ENGINE_UNAVAILABLE', `The sandboxes' disk (${image} on ${dir}) could not be mounted: ${detail}. Fix that, or set SLIPWAY_SANDBOX_DISK_MB=0 to run without a disk limit per sandbox.`, { cause: error });
    }
    mount = findMount(await readFile('/proc/self/mountinfo', 'utf8'), dir);
  }
  if (!enforcesProjectQuota(mount)) {
    throw new SlipwayError(
      'ENGINE_UNAVAILABLE',
      `${dir} holds a ${mount?.fsType ?? 'missing'} filesystem without enforced project quotas: unmount it (Slipway mounts its own XFS image there), choose another SLIPWAY_SANDBOX_DISK_DIR, or set SLIPWAY_SANDBOX_DISK_MB=0.`,
    );
  }
  await mkdir(path.join(dir, safeName(options.instance)), { recursive: true, mode: 0o700 });
  log.info('sandbox disk limit', { limitMb: options.limitMb, dir });
  return new QuotaDisks(dir, options.instance, options.limitMb);
}
