/**
 * Each node's disk: everything a node may write (its home with the inner engine's images and
 * volumes, /tmp, /var/tmp) lives on a filesystem of its own, an ext4 image file of exactly the
 * limit, loop-mounted on the host; the node's root filesystem is read-only (driver.ts), so
 * nothing else lands on the host's disk. A full disk is the filesystem's ENOSPC, with no
 * polling, and `df ~` in the node shows the limit.
 *
 * Why a filesystem per node rather than one XFS (or ext4) filesystem with a project quota per
 * node: that needs quota support in the kernel (CONFIG_XFS_QUOTA, or CONFIG_QFMT_V2 for ext4),
 * and our machines' kernels have neither. A loop image needs only ext4 and loop devices, which
 * every kernel Docker runs on has. It costs one loop device per running node (created on
 * demand through /dev/loop-control; the kernel allows a million) and about 20 ms of a node's
 * start (truncate, mkfs.ext4 with lazy inode tables and no journal, mount: measured 8-12 ms
 * and 8-11 ms). Removing a node's disk is an unmount and an unlink, whatever it held. The
 * image is sparse and mounted with `discard`, so it takes from the host only what the node
 * holds, and gives back what it deletes; the free-space watchdog (host-checks.ts) keeps the
 * host from filling up with many nodes each below its limit.
 *
 * With `SLIPWAY_SANDBOX_DISK_MB=0` the operator opts out: nodes get Docker volumes at the same
 * paths (no limit, no root needed), and start-up says so loudly.
 */
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, open, readFile, readdir, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { SlipwayError } from '../../errors.ts';
import type { Logger } from '../../log.ts';

const run = promisify(execFile);

/** Paths a node writes, each mounted from the node's own disk; the rest of its filesystem is read-only. */
export const nodeWritablePaths = { home: '/home/learner', tmp: '/tmp', 'var-tmp': '/var/tmp' } as const;
type Part = keyof typeof nodeWritablePaths;
const parts = Object.keys(nodeWritablePaths) as Part[];

export interface NodeMount {
  Type: 'bind' | 'volume';
  Source: string;
  Target: string;
}

/**
 * mkfs.ext4 arguments for a node's disk: 4 KiB blocks and an inode per 16 KiB (the default
 * ratio, fixed so that a small test disk is made like a large one), nothing reserved for root,
 * no journal (a node's disk never outlives its node, so there is nothing to recover after a
 * crash), inode tables left for the kernel to treat as zero (the sparse file reads as zeros).
 */
export function mkfsArguments(image: string): string[] {
  return ['-q', '-F', '-b', '4096', '-i', '16384', '-m', '0', '-O', '^has_journal', '-E', 'lazy_itable_init=1,nodiscard', image];
}

/** Mount options: give deleted blocks back to the host, and no background zeroing of inode tables. */
export const mountOptions = 'loop,discard,noinit_itable';

/** A path part that names one directory (an instance, a session id, a node name), never a way out of it. */
export function safeName(name: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new Error(`not a safe directory name: ${JSON.stringify(name)}`);
  return name;
}

/** Mount points under `dir` (itself included), from /proc/self/mountinfo. */
export function mountsUnder(mountinfo: string, dir: string): string[] {
  const found: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const target = line.split(' ')[4];
    if (!target) continue;
    const decoded = target.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    if (decoded === dir || decoded.startsWith(`${dir}/`)) found.push(decoded);
  }
  return found;
}

export interface HostFacts {
  root: boolean;
  localEngine: boolean;
  filesystems: string;
  loopControl: boolean;
  tools: Record<string, boolean>;
}

/** One sentence on what the host lacks for disk limits, and how to fix it; undefined when nothing. */
export function diskHostProblem(facts: HostFacts): string | undefined {
  const optOut = 'or set SLIPWAY_SANDBOX_DISK_MB=0 to run without a disk limit per sandbox';
  if (!facts.localEngine) return `The sandboxes' disk limit needs the Docker engine on this machine (DOCKER_HOST points elsewhere): run Slipway beside the engine, ${optOut}.`;
  if (!facts.root) return `The sandboxes' disk limit needs root to mount each sandbox's disk: start Slipway as root, ${optOut}.`;
  if (!facts.filesystems.split('\n').some((line) => line.trim().split(/\s+/).pop() === 'ext4')) {
    return `The sandboxes' disk limit needs ext4, which this kernel does not offer: load it (modprobe ext4), ${optOut}.`;
  }
  if (!facts.loopControl) return `The sandboxes' disk limit needs loop devices (/dev/loop-control is missing): load the loop module (modprobe loop), ${optOut}.`;
  const missing = Object.entries(facts.tools).filter(([, present]) => !present).map(([tool]) => tool);
  if (missing.length > 0) return `The sandboxes' disk limit needs ${missing.join(', ')}: install e2fsprogs and mount (apt-get install e2fsprogs mount), ${optOut}.`;
  return undefined;
}

async function hasTool(tool: string): Promise<boolean> {
  for (const dir of ['/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    if (await stat(path.join(dir, tool)).then(() => true, () => false)) return true;
  }
  return false;
}

export interface NodeDisks {
  /** The limit in MiB, or 0 when the operator opted out. */
  readonly limitMb: number;
  /** Makes the node's disk (an empty one) and returns its mounts. */
  prepare(sessionId: string, node: string, owner: { uid: number }, labels: Record<string, string>): Promise<NodeMount[]>;
  /** Removes a node's disk; removing what is gone succeeds. */
  removeNode(sessionId: string, node: string): Promise<void>;
  removeSession(sessionId: string): Promise<void>;
  /** Removes the disks of sessions not in `live`; returns how many sessions had some. */
  sweep(live: ReadonlySet<string>): Promise<number>;
}

/** A loop-mounted ext4 image per node, under `<dir>/<instance>/<session>/<node>.img`, mounted on `<node>/` beside it. */
export class LoopDisks implements NodeDisks {
  readonly limitMb: number;
  readonly #root: string;

  constructor(dir: string, instance: string, limitMb: number) {
    this.#root = path.join(dir, safeName(instance));
    this.limitMb = limitMb;
  }

  sessionDir(sessionId: string): string {
    return path.join(this.#root, safeName(sessionId));
  }

  nodeDir(sessionId: string, node: string): string {
    return path.join(this.sessionDir(sessionId), safeName(node));
  }

  async prepare(sessionId: string, node: string, owner: { uid: number }): Promise<NodeMount[]> {
    const mountPoint = this.nodeDir(sessionId, node);
    const image = `${mountPoint}.img`;
    // A disk left by a start that lost its uid slot to another (node-users.ts) starts over.
    await this.removeNode(sessionId, node);
    await mkdir(mountPoint, { recursive: true, mode: 0o700 });
    const file = await open(image, 'wx', 0o600);
    try {
      await file.truncate(this.limitMb * 2 ** 20);
    } finally {
      await file.close();
    }
    await run('mkfs.ext4', mkfsArguments(image));
    await run('mount', ['-o', mountOptions, image, mountPoint]);
    const mounts: NodeMount[] = [];
    for (const part of parts) {
      const source = path.join(mountPoint, part);
      await mkdir(source);
      // Home belongs to the node; the temporary folders are everyone's, as on any host.
      if (part === 'home') await chown(source, owner.uid, owner.uid);
      else await chmod(source, 0o1777);
      mounts.push({ Type: 'bind', Source: source, Target: nodeWritablePaths[part] });
    }
    return mounts;
  }

  /**
   * Unmounts, then removes only the empty mount point and the image: never a recursive delete,
   * which would empty a disk that is still mounted.
   */
  async removeNode(sessionId: string, node: string): Promise<void> {
    const mountPoint = this.nodeDir(sessionId, node);
    const mounted = mountsUnder(await readFile('/proc/self/mountinfo', 'utf8'), mountPoint);
    // Lazy: the node's container may not have let go yet; the loop device goes with the last user.
    for (const target of mounted.reverse()) await run('umount', ['-l', target]);
    await rmdir(mountPoint).catch(ignoreMissing);
    await unlink(`${mountPoint}.img`).catch(ignoreMissing);
  }

  async removeSession(sessionId: string): Promise<void> {
    const dir = this.sessionDir(sessionId);
    const entries = await readdir(dir).catch(() => [] as string[]);
    const nodes = new Set(entries.map((entry) => entry.replace(/\.img$/, '')));
    for (const node of nodes) await this.removeNode(sessionId, node);
    await rmdir(dir).catch(ignoreMissing);
  }

  async sweep(live: ReadonlySet<string>): Promise<number> {
    const sessions = await readdir(this.#root).catch(() => [] as string[]);
    const dead = sessions.filter((sessionId) => !live.has(sessionId));
    for (const sessionId of dead) await this.removeSession(sessionId);
    return dead.length;
  }
}

function ignoreMissing(error: unknown): void {
  if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
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

  async prepare(sessionId: string, node: string, _owner: { uid: number }, labels: Record<string, string>): Promise<NodeMount[]> {
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

/** Checks that the host can give each node a disk of its own; a host that cannot stops start-up with one sentence. */
export async function openLoopDisks(options: { dir: string; instance: string; limitMb: number; localEngine: boolean }, log: Logger): Promise<LoopDisks> {
  const tools = ['mkfs.ext4', 'mount', 'umount'];
  const problem = diskHostProblem({
    root: process.getuid?.() === 0,
    localEngine: options.localEngine,
    filesystems: await readFile('/proc/filesystems', 'utf8').catch(() => ''),
    loopControl: await stat('/dev/loop-control').then((info) => info.isCharacterDevice(), () => false),
    tools: Object.fromEntries(await Promise.all(tools.map(async (tool) => [tool, await hasTool(tool)] as const))),
  });
  if (problem) throw new SlipwayError('ENGINE_UNAVAILABLE', problem);
  const dir = path.resolve(options.dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  log.info('sandbox disk limit', { limitMb: options.limitMb, dir });
  return new LoopDisks(dir, options.instance, options.limitMb);
}
