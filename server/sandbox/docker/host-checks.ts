/**
 * What the engine's host must offer sandboxes, checked before the first learner arrives so
 * that a missing piece is one sentence at start-up, not a sandbox that never starts.
 */
import { readFile, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { SlipwayError } from '../../errors.ts';

export const tunDevice = '/dev/net/tun';

/**
 * A node's rootless network (slirp4netns) opens the TUN device as an unprivileged user, and
 * Docker gives the container the host's device mode. Only checked when the engine is local.
 */
export async function checkTunDevice(dockerHost: string | undefined = process.env.DOCKER_HOST, device = tunDevice): Promise<void> {
  if (dockerHost && !dockerHost.startsWith('unix://')) return;
  const info = await stat(device).catch(() => undefined);
  if (!info?.isCharacterDevice()) {
    throw new SlipwayError('ENGINE_UNAVAILABLE', `${device} is missing: load the tun module (sudo modprobe tun) and start again.`);
  }
  if ((info.mode & 0o666) !== 0o666) {
    throw new SlipwayError(
      'ENGINE_UNAVAILABLE',
      `${device} is not readable and writable by every user, which the sandboxes' network needs: run 'sudo chmod 0666 ${device}' (the mode udev gives it on most distributions) and start again.`,
    );
  }
}

/**
 * Free-space watchdog: a new sandbox is refused while the filesystem holding the engine's data
 * has less than `minFreeBytes` available, so learners filling their sandboxes cannot fill the
 * host's disk through new ones, and those already working keep the room that is left. Only
 * checked where that filesystem is visible (a local engine); elsewhere it reports nothing.
 */
export async function checkFreeDisk(dataRoot: string, minFreeBytes: number): Promise<void> {
  const stats = await statfs(dataRoot).catch(() => undefined);
  if (!stats) return;
  const free = stats.bavail * stats.bsize;
  if (free < minFreeBytes) {
    throw new SlipwayError(
      'OUT_OF_CAPACITY',
      `The server is low on disk space (${Math.round(free / 2 ** 20)} MiB free), so it starts no new sandbox now. Please try again later, or tell the person running it.`,
    );
  }
}

/**
 * What start-up learns about the engine's host before building images or starting sandboxes.
 * Read by `readHostFacts`; judged by `assessHost`, a pure function, so every case is unit-tested
 * without the host it describes.
 */
export interface HostFacts {
  /** The engine runs on this machine (unix socket), so its kernel and tools are ours to inspect. */
  localEngine: boolean;
  /** This process runs as root (needed only to debootstrap the Debian base image). */
  root: boolean;
  /** The kernel has AppArmor on (/sys/module/apparmor/parameters/enabled is Y). */
  appArmorEnabled: boolean;
  /** apparmor_parser is installed (the engine needs it to load its profile when AppArmor is on). */
  appArmorParser: boolean;
  /** The Debian base image must be made here: it is missing and SLIPWAY_BASE_IMAGE names none. */
  debianBaseMissing: boolean;
  /** Commands found on this machine, by name (debootstrap, tar). */
  tools: Partial<Record<HostTool, boolean>>;
  /** The engine's cgroup version (`docker info`: CgroupVersion), when it says. */
  cgroupVersion?: '1' | '2';
  /** The engine itself is rootless (`docker info`: SecurityOptions has name=rootless): it cannot give a node its cgroup. */
  engineRootless?: boolean;
}

export type HostTool = 'debootstrap' | 'tar';

export interface HostAssessment {
  /** Problems that stop the start, each one sentence that says what to do. */
  problems: string[];
  /** Facts the operator should know (logged at start), such as what sandboxes cannot do here. */
  notes: string[];
  /** Whether `docker run --memory`/`--cpus` inside a sandbox are enforced on this host. */
  innerLimits: 'enforced' | 'not-enforced' | 'unknown';
}

export const hostSentences = {
  appArmorParser:
    'AppArmor is on in this kernel but apparmor_parser is missing, so the Docker engine cannot load the profile its containers start with: install it (sudo apt-get install apparmor), restart the engine (sudo systemctl restart docker) and start Slipway again.',
  debootstrapMissing:
    'Building the Debian base image needs debootstrap: install it (sudo apt-get install debootstrap) and start Slipway again, or set SLIPWAY_BASE_IMAGE to a Debian 12 image the engine has.',
  debootstrapNotRoot:
    'Building the Debian base image needs debootstrap run as root: start Slipway as root once (later starts reuse the image), or set SLIPWAY_BASE_IMAGE to a Debian 12 image the engine has.',
  tarMissing: 'Building the Debian base image needs tar: install it (sudo apt-get install tar) and start Slipway again.',
  cgroupV1:
    'This engine uses cgroup v1, where the rootless engine in a sandbox has no cgroups: `docker run --memory` and `--cpus` inside a sandbox are accepted but not enforced (each sandbox\'s own limits still hold); boot the host with cgroup v2 (systemd.unified_cgroup_hierarchy=1) for the lesson on resource limits.',
  cgroupV2:
    'This engine uses cgroup v2: each sandbox gets its own delegated cgroup, and `docker run --memory` and `--cpus` inside it are enforced.',
  cgroupV2RootlessEngine:
    'This engine is rootless, so it cannot give each sandbox its own cgroup: `docker run --memory` and `--cpus` inside a sandbox are accepted but not enforced (each sandbox\'s own limits still hold); run Slipway on a rootful engine for the lesson on resource limits.',
  cgroupUnknown:
    'The engine did not say which cgroup version it uses, so whether `docker run --memory` and `--cpus` are enforced inside sandboxes is unknown.',
} as const;

export function assessHost(facts: HostFacts): HostAssessment {
  const problems: string[] = [];
  if (facts.localEngine && facts.appArmorEnabled && !facts.appArmorParser) problems.push(hostSentences.appArmorParser);
  if (facts.debianBaseMissing) {
    if (!facts.tools.debootstrap) problems.push(hostSentences.debootstrapMissing);
    else if (!facts.root) problems.push(hostSentences.debootstrapNotRoot);
    if (!facts.tools.tar) problems.push(hostSentences.tarMissing);
  }
  let innerLimits: HostAssessment['innerLimits'];
  let note: string;
  if (facts.cgroupVersion === '2' && facts.engineRootless) [innerLimits, note] = ['not-enforced', hostSentences.cgroupV2RootlessEngine];
  else if (facts.cgroupVersion === '2') [innerLimits, note] = ['enforced', hostSentences.cgroupV2];
  else if (facts.cgroupVersion === '1') [innerLimits, note] = ['not-enforced', hostSentences.cgroupV1];
  else [innerLimits, note] = ['unknown', hostSentences.cgroupUnknown];
  const notes = [note];
  return { problems, notes, innerLimits };
}

/** Throws the first problem `assessHost` finds, as the one sentence start-up ends with. */
export function requireHost(assessment: HostAssessment): void {
  const [first] = assessment.problems;
  if (first) throw new SlipwayError('ENGINE_UNAVAILABLE', first);
}

async function onPath(command: string, dirs = (process.env.PATH ?? '').split(':').concat('/usr/sbin', '/sbin')): Promise<boolean> {
  for (const dir of dirs) {
    if (!dir) continue;
    const info = await stat(path.join(dir, command)).catch(() => undefined);
    if (info?.isFile() && (info.mode & 0o111) !== 0) return true;
  }
  return false;
}

/** The facts `assessHost` judges, read from this machine and the engine's `docker info`. */
export async function readHostFacts(
  engine: { cgroupVersion?: string | undefined; securityOptions?: string[] | undefined; debianBaseMissing: boolean },
  dockerHost: string | undefined = process.env.DOCKER_HOST,
): Promise<HostFacts> {
  const appArmor = await readFile('/sys/module/apparmor/parameters/enabled', 'utf8').catch(() => '');
  return {
    localEngine: !dockerHost || dockerHost.startsWith('unix://'),
    root: process.getuid?.() === 0,
    appArmorEnabled: appArmor.trim().startsWith('Y'),
    appArmorParser: await onPath('apparmor_parser'),
    debianBaseMissing: engine.debianBaseMissing,
    tools: { debootstrap: await onPath('debootstrap'), tar: await onPath('tar') },
    cgroupVersion: engine.cgroupVersion === '1' || engine.cgroupVersion === '2' ? engine.cgroupVersion : undefined,
    engineRootless: (engine.securityOptions ?? []).some((option) => option.split(',').includes('name=rootless')),
  };
}
