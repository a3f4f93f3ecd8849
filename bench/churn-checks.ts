/**
 * What the churn benchmark looks at before and after its cycles: what the run may have left
 * in the engine and on the host (each must be none), and the figures of the engine, the host
 * and the server process that a leak would make grow. Everything here is cheap to read: a few
 * engine list calls, `/info`, and files under /proc and /sys.
 */
import { execFile } from 'node:child_process';
import { access, readdir, readFile, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Docker } from '../server/sandbox/docker/engine.ts';
import { idempotent } from '../server/sandbox/docker/engine.ts';
import { bridgePrefix } from '../server/sandbox/docker/firewall.ts';
import { baseLabels, labelFilter, labelKeys, objectName } from '../server/sandbox/docker/labels.ts';
import { nodeUidStride, uidOfSlot } from '../server/sandbox/docker/node-users.ts';
import { parseCidr } from '../server/sandbox/docker/session-network.ts';

// A full collection before each heap reading, so that the figure is what is still referenced.
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

// ---------------------------------------------------------------------------------------------
// Figures compared before and after

export interface Figures {
  /** Available bytes on the filesystem of the engine's data directory (shared with everything else on it). */
  freeDisk: number | undefined;
  /** Bytes under the engine's data directory (`du`): images, layers, containers, volumes of everyone on the engine. */
  engineData: number | undefined;
  /** Size of the engine's network store (network/files/local-kv.db), which keeps every network's state. */
  networkStore: number | undefined;
  /** From the engine's /info: every container on the engine, whoever made it. */
  engineContainers: number;
  engineGoroutines: number | undefined;
  engineFds: number | undefined;
  engineEventListeners: number | undefined;
  /** VmRSS of dockerd, when it runs on this host. */
  dockerdRss: number | undefined;
  /** Of this process (Slipway runs in it), after a full garbage collection. */
  heapUsed: number;
  rss: number;
  /** process.getActiveResourcesInfo(): sockets, timers and the like this process holds open. */
  activeResources: number;
  /** Volumes no container uses, labelled or not (an anonymous volume has no label to find it by). */
  danglingVolumes: number;
  /** Node-user slots held on the engine by any instance (node-users.ts). */
  slotsHeld: number;
  /** Host network interfaces named veth* (every container's, whoever made it). */
  veths: number;
}

async function dockerdRss(): Promise<number | undefined> {
  const pids = await readdir('/proc').catch(() => [] as string[]);
  for (const pid of pids.filter((name) => /^\d+$/.test(name))) {
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (comm.trim() !== 'dockerd') continue;
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  }
  return undefined;
}

async function diskUsage(directory: string): Promise<number | undefined> {
  try {
    const { stdout } = await promisify(execFile)('du', ['-sxk', directory]);
    return Number(stdout.split('\t')[0]) * 1024;
  } catch {
    return undefined;
  }
}

export async function readFigures(docker: Docker, dataRoot: string | undefined): Promise<Figures> {
  collectGarbage();
  const memory = process.memoryUsage();
  const [info, disk, used, store, dockerd, slotHolders, interfaces, dangling] = await Promise.all([
    docker.info() as Promise<{ Containers: number; NGoroutines?: number; NFd?: number; NEventsListener?: number }>,
    dataRoot ? statfs(dataRoot).catch(() => undefined) : undefined,
    dataRoot ? diskUsage(dataRoot) : undefined,
    dataRoot ? stat(path.join(dataRoot, 'network', 'files', 'local-kv.db')).catch(() => undefined) : undefined,
    dockerdRss(),
    docker.listContainers({ all: true, filters: { label: [labelKeys.uidSlot] } }),
    readdir('/sys/class/net').catch(() => [] as string[]),
    docker.listVolumes({ filters: { dangling: ['true'] } } as object),
  ]);
  return {
    freeDisk: disk ? disk.bavail * disk.bsize : undefined,
    engineData: used,
    networkStore: store?.size,
    engineContainers: info.Containers,
    engineGoroutines: info.NGoroutines,
    engineFds: info.NFd,
    engineEventListeners: info.NEventsListener,
    dockerdRss: dockerd,
    heapUsed: memory.heapUsed,
    rss: memory.rss,
    activeResources: process.getActiveResourcesInfo().length,
    danglingVolumes: dangling.Volumes?.length ?? 0,
    slotsHeld: slotHolders.length,
    veths: interfaces.filter((name) => name.startsWith('veth')).length,
  };
}

// ---------------------------------------------------------------------------------------------
// What must be gone

/** What the cycles used, so that the checks can look for exactly that. */
export interface RunTrace {
  instance: string;
  /** SLIPWAY_SUBNET_POOL of the run: a range of its own, which nothing else on the engine uses. */
  pool: string;
  sessionIds: Set<string>;
  /** The /28s the session networks got. */
  subnets: Set<string>;
  /** The node-user slots the nodes ran in. */
  slots: Set<number>;
  /** Where the engine kept the run's containers, their layers and volumes (when its data directory is visible here). */
  files: Set<string>;
}

export interface Leftover {
  what: string;
  /** Names or numbers of what was found; empty when nothing was. */
  found: string[];
}

/**
 * Everything the run could have left: the instance's sandbox containers, networks and
 * volumes; node-user slots held under the instance; session networks in the run's pool; its
 * subnets, each of which the engine must let a new network take again (a subnet the engine's
 * address management still counted as used would fail); host processes still running as one
 * of the run's node users; and host bridges of its sessions.
 */
export async function findLeftovers(docker: Docker, trace: RunTrace): Promise<Leftover[]> {
  const sandbox = labelFilter(trace.instance, { [labelKeys.role]: 'sandbox' });
  const [containers, networks, volumes, slotted, allNetworks] = await Promise.all([
    docker.listContainers({ all: true, filters: sandbox }),
    docker.listNetworks({ filters: sandbox }),
    docker.listVolumes({ filters: sandbox } as object),
    docker.listContainers({ all: true, filters: { label: [...labelFilter(trace.instance).label, labelKeys.uidSlot] } }),
    docker.listNetworks(),
  ]);
  const pool = parseCidr(trace.pool);
  const inPool = allNetworks.flatMap((info) =>
    (info.IPAM?.Config ?? []).flatMap((config) => {
      const start = config.Subnet?.includes('.') ? parseCidr(config.Subnet).start : undefined;
      return start !== undefined && start >= pool.start && start < pool.start + pool.size ? [`${info.Name} (${config.Subnet})`] : [];
    }),
  );
  return [
    { what: 'sandbox containers', found: containers.map((info) => info.Names[0]?.replace(/^\//, '') ?? info.Id) },
    { what: 'session networks', found: networks.map((info) => info.Name) },
    { what: 'node volumes', found: (volumes.Volumes ?? []).map((info) => info.Name) },
    { what: 'node-user slots held', found: slotted.map((info) => `${info.Labels[labelKeys.uidSlot]} (${info.Names[0]?.replace(/^\//, '')})`) },
    { what: `networks on subnets of the pool ${trace.pool}`, found: inPool },
    { what: `subnets the engine will not give out again (of the ${trace.subnets.size} used)`, found: await unreusableSubnets(docker, trace) },
    { what: `host processes running as the run's node users (${trace.slots.size} slots used)`, found: await processesOfSlots(docker, trace.slots) },
    { what: `host bridges of the run's sessions (of ${trace.sessionIds.size})`, found: await bridgesOfSessions(trace.sessionIds) },
    { what: `the run's container, layer and volume directories in the engine's data (of ${trace.files.size})`, found: await existing(trace.files) },
  ];
}

/** Creates a network on each subnet the run used, and removes it again; lists those the engine refused. */
async function unreusableSubnets(docker: Docker, trace: RunTrace): Promise<string[]> {
  const refused: string[] = [];
  for (const [index, subnet] of [...trace.subnets].entries()) {
    const name = objectName(trace.instance, 'subnet-probe', String(index));
    try {
      await docker.createNetwork({ Name: name, Driver: 'bridge', Internal: true, Labels: baseLabels(trace.instance, 'helper'), IPAM: { Driver: 'default', Config: [{ Subnet: subnet }] } });
    } catch (error) {
      refused.push(`${subnet} (${(error as Error).message.trim()})`);
    } finally {
      await idempotent(() => docker.getNetwork(name).remove());
    }
  }
  return refused;
}

/** Host processes whose uid is in the range of one of `slots`, unless a container holds that slot now (another run's node). */
async function processesOfSlots(docker: Docker, slots: Set<number>): Promise<string[]> {
  const holders = await docker.listContainers({ all: true, filters: { label: [labelKeys.uidSlot] } });
  const heldNow = new Set(holders.map((info) => Number(info.Labels[labelKeys.uidSlot])));
  const ranges = [...slots].filter((slot) => !heldNow.has(slot)).map((slot) => ({ slot, from: uidOfSlot(slot) }));
  if (ranges.length === 0) return [];
  const found: string[] = [];
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((name) => /^\d+$/.test(name));
  for (const pid of pids) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    const range = ranges.find(({ from }) => uid >= from && uid < from + nodeUidStride);
    if (range) found.push(`pid ${pid} (${/^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?'}, uid ${uid}, slot ${range.slot})`);
  }
  return found;
}

/** Host interfaces named like the bridge of one of the run's sessions (slw + the session id's first 12 characters). */
async function bridgesOfSessions(sessionIds: Set<string>): Promise<string[]> {
  const names = new Set([...sessionIds].map((id) => `${bridgePrefix}${id.slice(0, 12)}`));
  const interfaces = await readdir('/sys/class/net').catch(() => [] as string[]);
  return interfaces.filter((name) => names.has(name));
}

async function existing(paths: Set<string>): Promise<string[]> {
  const found: string[] = [];
  for (const file of paths) {
    if (await access(file).then(() => true, () => false)) found.push(file);
  }
  return found;
}
