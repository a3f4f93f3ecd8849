/**
 * Sandboxes as Docker-in-Docker containers on the local engine. One session gets an
 * internal network of its own (which the mirror and the package caches join) and one
 * container per node, with a read-only root filesystem: what the node writes (home, the
 * rootless Docker engine's data, /tmp) goes to a disk of its own, of a fixed size (node-disk.ts).
 */
import { watchOutOfMemory, type OutOfMemoryListener } from './oom-events.ts';
import { listDirectoryInNode, readFileInNode, writeFileInNode } from './files.ts';
import type { Logger } from '../../log.ts';
import { SlipwayError } from '../../errors.ts';
import type { DirectoryEntry, FileContent, FileWriteResult, PublishedPort, RunOptions, RunResult, SandboxDriver, SandboxInfo, SandboxSpec, Shell, ShellOptions, StartPhase } from '../driver.ts';
import { engineUnavailable, idempotent, isEngineUnreachable, statusOf, type Docker } from './engine.ts';
import { isShellHeld, orphanShellsInNode, openShellInNode, runInNode } from './exec.ts';
import { bridgePrefix } from './firewall.ts';
import { baseLabels, labelFilter, labelKeys, objectName } from './labels.ts';
import { delegateCgroups, type DelegatedNode } from './cgroups.ts';
import { createInFreeSlot, nodeUser, uidOfSlot } from './node-users.ts';
import type { SessionService } from './services.ts';
import { createSessionNetwork } from './session-network.ts';
import { checkFreeDisk } from './host-checks.ts';
import { listContainersCommand, parsePublishedPorts } from '../published-ports.ts';
import { VolumeDisks, type NodeDisks } from './node-disk.ts';

export const defaultSubnetPool = '10.213.0.0/16';

export interface DockerDriverOptions {
  instance: string;
  sandboxImage: string;
  mirrorContainer: string;
  /** More shared containers each session reaches by name: the package caches (caches.ts). */
  caches?: SessionService[];
  memoryMb: number;
  cpus: number;
  pids: number;
  /** OCI runtime for the nodes (engine default when unset). */
  runtime?: string | undefined;
  /** Longest wait for a node's inner engine to answer. */
  engineTimeoutMs?: number;
  /** The engine's data directory, where it is visible to this process, and the free space a new sandbox needs there. */
  dataRoot?: string | undefined;
  minFreeDiskMb?: number;
  /** IPv4 range whose /28s the session networks take (default 10.213.0.0/16). */
  subnetPool?: string | undefined;
  /**
   * Set on a cgroup v2 engine: each node's cgroup is delegated to its uid (cgroups.ts), so the
   * engine inside enforces `docker run --memory` and `--cpus`. Unset: nodes run as before.
   */
  cgroupDelegation?: { engineCgroupDriver: string | undefined } | undefined;
  /** Where nodes write (node-disk.ts); by default Docker volumes with no limit. */
  disks?: NodeDisks;
  /** More directories whose filesystem the free-space watchdog checks (the nodes' disk image). */
  watchedDirs?: string[];
}

/** Bounds the node's own log (its stdout and stderr, which its processes can write to), kept on the host's disk. */
export const nodeLogConfig = { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '2' } } as const;

/**
 * Capabilities of a sandbox node: Docker's default set and nothing more. The node's Docker
 * engine runs rootless (see images/sandbox/entrypoint.sh), so it needs neither SYS_ADMIN nor
 * NET_ADMIN on the host: those it has only inside its own user namespace.
 */
export const sandboxCapabilities = [
  'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'NET_BIND_SERVICE',
  'NET_RAW', 'SYS_CHROOT', 'MKNOD', 'AUDIT_WRITE', 'SETFCAP',
] as const;

export class DockerDriver implements SandboxDriver {
  readonly #docker: Docker;
  readonly #options: DockerDriverOptions;
  readonly #log: Logger;
  readonly #disks: NodeDisks;

  constructor(docker: Docker, options: DockerDriverOptions, log: Logger) {
    this.#docker = docker;
    this.#options = options;
    this.#log = log;
    this.#disks =
      options.disks ??
      new VolumeDisks(
        (name, labels) => docker.createVolume({ Name: name, Labels: labels }),
        (sessionId, node, part) => `${this.#containerName(sessionId, node)}-${part}`,
      );
  }

  readFile(sessionId: string, node: string, path: string): Promise<FileContent> {
    return readFileInNode(this.#docker, this.#container(sessionId, node), path);
  }

  writeFile(sessionId: string, node: string, path: string, content: string, expected: string): Promise<FileWriteResult> {
    return writeFileInNode(this.#docker, this.#container(sessionId, node), path, content, expected);
  }

  listDirectory(sessionId: string, node: string, path: string): Promise<{ path: string; entries: DirectoryEntry[]; truncated: boolean }> {
    return listDirectoryInNode(this.#docker, this.#container(sessionId, node), path);
  }

  async notReady(): Promise<string | undefined> {
    try {
      await this.#docker.ping();
    } catch {
      return 'The Docker engine does not answer.';
    }
    for (const { containerName, alias } of this.#services()) {
      const running = await this.#docker
        .getContainer(containerName)
        .inspect()
        .then((info) => info.State.Running, () => false);
      if (!running) return `The shared ${alias} container (${containerName}) is not running.`;
    }
    for (const dir of [this.#options.dataRoot, ...(this.#options.watchedDirs ?? [])]) {
      if (!dir) continue;
      const low = await checkFreeDisk(dir, (this.#options.minFreeDiskMb ?? 0) * 2 ** 20).then(() => undefined, (error: Error) => error.message);
      if (low) return low;
    }
    return undefined;
  }

  onOutOfMemory(listener: OutOfMemoryListener): () => void {
    return watchOutOfMemory(this.#docker, this.#options.instance, listener, this.#log);
  }

  #containerName(sessionId: string, node: string): string {
    return objectName(this.#options.instance, sessionId, node);
  }

  #networkName(sessionId: string): string {
    return objectName(this.#options.instance, sessionId);
  }

  /** The shared containers a session's network gets, each under the name nodes use for it. */
  #services(): SessionService[] {
    return [{ containerName: this.#options.mirrorContainer, alias: 'mirror' }, ...(this.#options.caches ?? [])];
  }

  /**
   * Joins the shared services to the session's network and returns `/etc/hosts` lines for the
   * nodes. Names come from /etc/hosts rather than the engine's DNS: the rootless engine inside
   * a node resolves through the node's own files (see images/sandbox/entrypoint.sh).
   */
  /** Connects the shared services to a session network under their names; returns their `alias:address`. */
  async #joinServices(network: string): Promise<string[]> {
    await Promise.all(
      this.#services().map(({ containerName, alias }) =>
        this.#docker.getNetwork(network).connect({ Container: containerName, EndpointConfig: { Aliases: [alias] } }),
      ),
    );
    return this.#serviceHosts(network);
  }

  async #engine<T>(action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      if (isEngineUnreachable(error)) throw engineUnavailable(error);
      throw error;
    }
  }

  async start(spec: SandboxSpec, onProgress: (phase: StartPhase, message: string) => void): Promise<SandboxInfo> {
    const { instance } = this.#options;
    const labels = { ...baseLabels(instance, 'sandbox'), [labelKeys.session]: spec.sessionId, [labelKeys.learner]: spec.learnerId };
    const network = this.#networkName(spec.sessionId);
    const log = this.#log.child({ session: spec.sessionId });
    for (const dir of [this.#options.dataRoot, ...(this.#options.watchedDirs ?? [])]) {
      if (dir) await checkFreeDisk(dir, (this.#options.minFreeDiskMb ?? 0) * 2 ** 20);
    }
    try {
      onProgress('starting', 'Creating your private network…');
      await this.#engine(() =>
        createSessionNetwork(this.#docker, {
          name: network,
          labels,
          pool: this.#options.subnetPool ?? defaultSubnetPool,
          options: {
            'com.docker.network.bridge.name': `${bridgePrefix}${spec.sessionId.slice(0, 12)}`,
            'com.docker.network.bridge.enable_icc': 'true',
          },
        }),
      );
      const extraHosts = await this.#joinServices(network);
      await this.#startNodes(spec, spec.nodes, extraHosts, onProgress);
      log.info('sandbox started', { nodes: spec.nodes });
      return { sessionId: spec.sessionId, nodes: spec.nodes };
    } catch (error) {
      log.warn('sandbox start failed; removing what was created', { error });
      await this.stop(spec.sessionId).catch((cleanupError: unknown) => log.error('cleanup failed', { error: cleanupError }));
      if (error instanceof SlipwayError) throw error;
      if (isEngineUnreachable(error)) throw engineUnavailable(error);
      throw new SlipwayError('SANDBOX_FAILED', 'Your sandbox could not be started. Please try again in a moment.', { cause: error });
    }
  }

  async addNodes(sessionId: string, nodes: string[], onProgress: (phase: StartPhase, message: string) => void): Promise<void> {
    const filters = labelFilter(this.#options.instance, { [labelKeys.session]: sessionId, [labelKeys.role]: 'sandbox' });
    const existing = await this.#engine(() => this.#docker.listContainers({ all: true, filters }));
    const first = existing[0];
    const have = new Set(existing.map((info) => info.Labels[labelKeys.node]));
    const missing = nodes.filter((node) => !have.has(node));
    if (missing.length === 0) return;
    if (!first) throw new SlipwayError('SANDBOX_MISSING', 'Your sandbox is gone. Reload the page to get a new one.');
    const spec: SandboxSpec = { sessionId, learnerId: first.Labels[labelKeys.learner] ?? '', nodes: missing };
    try {
      await this.#startNodes(spec, missing, await this.#serviceHosts(this.#networkName(sessionId)), onProgress);
    } catch (error) {
      // Leave the nodes that ran before; remove the half-started new ones.
      for (const node of missing) {
        await idempotent(() => this.#docker.getContainer(this.#containerName(sessionId, node)).remove({ force: true, v: true })).catch(() => undefined);
        await this.#disks.removeNode(sessionId, node).catch(() => undefined);
        const volumes = await this.#docker.listVolumes({ filters: labelFilter(this.#options.instance, { [labelKeys.session]: sessionId, [labelKeys.node]: node }) } as object);
        for (const info of volumes.Volumes ?? []) await idempotent(() => this.#docker.getVolume(info.Name).remove()).catch(() => undefined);
      }
      if (error instanceof SlipwayError) throw error;
      if (isEngineUnreachable(error)) throw engineUnavailable(error);
      throw new SlipwayError('SANDBOX_FAILED', `${missing.join(', ')} could not be started. Please try again in a moment.`, { cause: error });
    }
  }

  /** The shared services' `alias:address` on a session network they have already joined. */
  async #serviceHosts(network: string): Promise<string[]> {
    return Promise.all(
      this.#services().map(async ({ containerName, alias }) => {
        const info = await this.#docker.getContainer(containerName).inspect();
        const address = info.NetworkSettings.Networks[network]?.IPAddress;
        if (!address) throw new Error(`${containerName} is not on the session network ${network}`);
        return `${alias}:${address}`;
      }),
    );
  }

  /** Starts `nodes` on the session's network (which the services have joined) and waits for their engines. */
  async #startNodes(spec: SandboxSpec, nodes: string[], extraHosts: string[], onProgress: (phase: StartPhase, message: string) => void): Promise<void> {
    const network = this.#networkName(spec.sessionId);
    const labels = { ...baseLabels(this.#options.instance, 'sandbox'), [labelKeys.session]: spec.sessionId, [labelKeys.learner]: spec.learnerId };
    onProgress('starting', `Starting ${nodes.join(', ')}…`);
    const started = await Promise.all(nodes.map((node) => this.#startNode(spec, node, network, extraHosts, labels)));
    const delegation = this.#options.cgroupDelegation;
    if (delegation) {
      // The nodes wait for this before starting their engines; if it fails they are told, and
      // start without inner limits, as on cgroup v1.
      await delegateCgroups(
        this.#docker,
        { instance: this.#options.instance, image: this.#options.sandboxImage, engineCgroupDriver: delegation.engineCgroupDriver },
        started,
        this.#log,
      ).catch(async (error: unknown) => {
        this.#log.warn('nodes start without inner cgroup limits', { session: spec.sessionId, error });
        // Tell the nodes, so they stop waiting for it (entrypoint.sh).
        await Promise.all(
          nodes.map((node) =>
            runInNode(this.#docker, this.#container(spec.sessionId, node), node, 'touch /tmp/slipway-cgroup-refused', 10_000, { enter: false }).catch(() => undefined),
          ),
        );
      });
    }
    onProgress('waiting-engine', 'Waiting for Docker inside your sandbox to start…');
    await Promise.all(nodes.map((node) => this.#waitForEngine(spec.sessionId, node)));
  }

  async #startNode(spec: SandboxSpec, node: string, network: string, extraHosts: string[], labels: Record<string, string>): Promise<DelegatedNode> {
    const name = this.#containerName(spec.sessionId, node);
    const nodeLabels = { ...labels, [labelKeys.node]: node };
    const memory = this.#options.memoryMb * 1024 * 1024;
    let uid = 0;
    const container = await createInFreeSlot(this.#docker, async (slot) => {
      uid = uidOfSlot(slot);
      return this.#docker.createContainer({
      name,
      Image: this.#options.sandboxImage,
      Hostname: node,
      // A host uid of the node's own, never root and never an account (node-users.ts).
      User: nodeUser(slot),
      Labels: { ...nodeLabels, [labelKeys.uidSlot]: String(slot) },
      // The node's name server answers the session's node names (images/sandbox/resolver.sh);
      // only names that exist, as Docker's DNS stalls on a name it does not know. The disk
      // limit is for the prompt's "disk is full" line (images/sandbox/bashrc).
      // SLIPWAY_CGROUP=delegate: the entrypoint waits for its cgroup (cgroups.ts) and uses it.
      Env: [
        `SLIPWAY_NODE=${node}`,
        `SLIPWAY_NODES=${spec.nodes.join(' ')}`,
        `SLIPWAY_DISK_MB=${this.#disks.limitMb}`,
        ...(this.#options.cgroupDelegation ? ['SLIPWAY_CGROUP=delegate'] : []),
      ],
      HostConfig: {
        // No --privileged and no root: the node runs as an unprivileged user with Docker's
        // default capabilities. rootlesskit needs to create user namespaces (seccomp
        // unconfined), nested containers need to mount a fresh procfs (no masked /proc
        // paths) and slirp4netns needs a TUN device.
        CapDrop: ['ALL'],
        CapAdd: [...sandboxCapabilities],
        SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
        MaskedPaths: [],
        ReadonlyPaths: [],
        Devices: [{ PathOnHost: '/dev/net/tun', PathInContainer: '/dev/net/tun', CgroupPermissions: 'rwm' }],
        CgroupnsMode: 'private',
        Init: true,
        Memory: memory,
        MemorySwap: memory,
        NanoCpus: Math.round(this.#options.cpus * 1e9),
        PidsLimit: this.#options.pids,
        // Nothing lands in the container's layer on the host's disk: the node writes only to its
        // own disk (home, /tmp, /var/tmp), whose size the filesystem limits (node-disk.ts).
        ReadonlyRootfs: true,
        Mounts: await this.#disks.prepare(spec.sessionId, node, { uid: uidOfSlot(slot) }, nodeLabels),
        LogConfig: nodeLogConfig,
        NetworkMode: network,
        ExtraHosts: extraHosts,
        ...(this.#options.runtime ? { Runtime: this.#options.runtime } : {}),
      },
      NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [node] } } },
    } as Parameters<Docker['createContainer']>[0]);
    });
    await container.start();
    return { containerId: container.id, uid };
  }

  async #waitForEngine(sessionId: string, node: string): Promise<void> {
    const seconds = Math.ceil((this.#options.engineTimeoutMs ?? 60000) / 1000);
    const probe = 'until curl -sf --unix-socket "$XDG_RUNTIME_DIR/docker.sock" http://engine/_ping >/dev/null 2>&1; do sleep 0.05; done';
    const result = await runInNode(this.#docker, this.#container(sessionId, node), node, probe, seconds * 1000, { enter: false });
    if (result.exitCode !== 0) {
      const logs = await this.#docker
        .getContainer(this.#containerName(sessionId, node))
        .logs({ stdout: true, stderr: true, tail: 30 })
        .then((buffer) => buffer.toString())
        .catch(() => '');
      this.#log.error('inner engine did not start', { session: sessionId, node, logs });
      throw new SlipwayError('SANDBOX_FAILED', `Docker inside ${node} did not start within ${seconds} seconds.`);
    }
  }

  async claim(sessionId: string, learnerId: string): Promise<void> {
    // Labels cannot change on a running container: a labelled volume of the session records
    // the learner, and goes with the session's other volumes.
    const labels = { ...baseLabels(this.#options.instance, 'sandbox'), [labelKeys.session]: sessionId, [labelKeys.learner]: learnerId, [labelKeys.claim]: 'true' };
    await this.#engine(() => this.#docker.createVolume({ Name: objectName(this.#options.instance, sessionId, 'claim'), Labels: labels }));
  }

  async isRunning(sessionId: string): Promise<boolean> {
    const containers = await this.#engine(() =>
      this.#docker.listContainers({ all: true, filters: labelFilter(this.#options.instance, { [labelKeys.session]: sessionId }) }),
    );
    return containers.length > 0 && containers.every((container) => container.State === 'running');
  }

  async stop(sessionId: string): Promise<void> {
    const filters = labelFilter(this.#options.instance, { [labelKeys.session]: sessionId });
    const containers = await this.#engine(() => this.#docker.listContainers({ all: true, filters }));
    await Promise.all(containers.map((info) => idempotent(() => this.#docker.getContainer(info.Id).remove({ force: true, v: true }))));
    const network = this.#networkName(sessionId);
    await Promise.all(
      this.#services().map(({ containerName }) =>
        idempotent(() => this.#docker.getNetwork(network).disconnect({ Container: containerName, Force: true })).catch((error: unknown) => {
          // The engine answers 500 when the service was never connected; that is fine here.
          if (!/not connected/.test(String((error as Error).message))) throw error;
        }),
      ),
    );
    const networks = await this.#docker.listNetworks({ filters });
    await Promise.all(networks.map((info) => idempotent(() => this.#docker.getNetwork(info.Id).remove())));
    const volumes = await this.#docker.listVolumes({ filters } as object);
    await Promise.all((volumes.Volumes ?? []).map((info) => idempotent(() => this.#docker.getVolume(info.Name).remove())));
    await this.#disks.removeSession(sessionId);
  }

  /**
   * Removes what starts that died half-way left behind (a crash between creating a session's
   * network or volumes and its nodes): labelled networks and volumes of sessions with no node.
   */
  async sweep(): Promise<number> {
    const filters = labelFilter(this.#options.instance, { [labelKeys.role]: 'sandbox' });
    const containers = await this.#engine(() => this.#docker.listContainers({ all: true, filters }));
    const live = new Set(containers.map((info) => info.Labels[labelKeys.session]));
    const networks = (await this.#docker.listNetworks({ filters })).filter((info) => !live.has(info.Labels?.[labelKeys.session]));
    const volumes = ((await this.#docker.listVolumes({ filters } as object)).Volumes ?? []).filter((info) => !live.has(info.Labels?.[labelKeys.session]));
    for (const info of networks) {
      for (const service of this.#services()) {
        await idempotent(() => this.#docker.getNetwork(info.Id).disconnect({ Container: service.containerName, Force: true })).catch(() => undefined);
      }
      await idempotent(() => this.#docker.getNetwork(info.Id).remove());
    }
    await Promise.all(volumes.map((info) => idempotent(() => this.#docker.getVolume(info.Name).remove())));
    const disks = await this.#disks.sweep(new Set([...live].filter((id): id is string => id !== undefined)));
    return networks.length + volumes.length + disks;
  }

  async list(): Promise<SandboxInfo[]> {
    const containers = await this.#engine(() =>
      this.#docker.listContainers({ all: true, filters: labelFilter(this.#options.instance, { [labelKeys.role]: 'sandbox' }) }),
    );
    const bySession = new Map<string, { sessionId: string; nodes: string[]; learnerId: string | undefined; running: boolean }>();
    for (const info of containers) {
      const sessionId = info.Labels[labelKeys.session];
      const node = info.Labels[labelKeys.node];
      if (!sessionId || !node) continue;
      const entry = bySession.get(sessionId) ?? { sessionId, nodes: [] as string[], learnerId: info.Labels[labelKeys.learner], running: true };
      entry.learnerId ||= info.Labels[labelKeys.learner];
      entry.nodes.push(node);
      entry.running &&= info.State === 'running';
      bySession.set(sessionId, entry);
    }
    const claims = new Map<string, string>();
    if ([...bySession.values()].some((entry) => !entry.learnerId)) {
      const volumes = await this.#docker.listVolumes({ filters: labelFilter(this.#options.instance, { [labelKeys.claim]: 'true' }) } as object);
      for (const info of volumes.Volumes ?? []) {
        const sessionId = info.Labels?.[labelKeys.session];
        const learnerId = info.Labels?.[labelKeys.learner];
        if (sessionId && learnerId) claims.set(sessionId, learnerId);
      }
    }
    return [...bySession.values()].map((entry) => ({ ...entry, learnerId: entry.learnerId || claims.get(entry.sessionId) || '', nodes: entry.nodes.sort() }));
  }

  #container(sessionId: string, node: string) {
    return this.#docker.getContainer(this.#containerName(sessionId, node));
  }

  openShell(sessionId: string, node: string, options: ShellOptions): Promise<Shell> {
    const container = this.#container(sessionId, node);
    return openShellInNode(container, node, options, this.#holderRun(container, node));
  }

  async reattachShell(sessionId: string, node: string, options: ShellOptions): Promise<Shell | undefined> {
    const container = this.#container(sessionId, node);
    const run = this.#holderRun(container, node);
    if (!(await isShellHeld(options.id, run))) return undefined;
    return openShellInNode(container, node, { ...options, attach: true }, run);
  }

  async markShellsOrphaned(sessionId: string, node: string): Promise<void> {
    await orphanShellsInNode('mark', this.#holderRun(this.#container(sessionId, node), node));
  }

  async endOrphanedShells(sessionId: string, node: string): Promise<void> {
    await orphanShellsInNode('end', this.#holderRun(this.#container(sessionId, node), node));
  }

  /** Runs the node's shell holder, in the node's own namespaces (where the holder keeps its sockets). */
  #holderRun(container: ReturnType<Docker["getContainer"]>, node: string): (command: string) => Promise<RunResult> {
    return (command) => runInNode(this.#docker, container, node, command, 5000, { enter: false });
  }

  /**
   * Checks and setups run in the node's own namespaces, not the learner's: there the learner,
   * root only of their user namespace, cannot bind-mount a fake `docker` or change any other
   * program, and the engine is reached over its socket. They see the learner's files (home,
   * /tmp) and published ports; /etc is the learner's own copy, so a check reads daemon
   * settings from the engine (`docker info`), not from /etc/docker/daemon.json.
   */
  run(sessionId: string, node: string, command: string, timeoutMs: number, options: RunOptions = {}): Promise<RunResult> {
    return runInNode(this.#docker, this.#container(sessionId, node), node, command, timeoutMs, { enter: options.view === 'learner' });
  }

  async listPorts(sessionId: string, node: string): Promise<PublishedPort[]> {
    const result = await runInNode(this.#docker, this.#container(sessionId, node), node, listContainersCommand, 5000, { enter: false });
    return result.exitCode === 0 ? parsePublishedPorts(result.output) : [];
  }

  /**
   * The node's address on its session network: the rootless engine's port driver (rootlesskit's
   * builtin) listens for published ports in the node container's own network namespace.
   */
  async nodeAddress(sessionId: string, node: string): Promise<string | undefined> {
    try {
      const info = await this.#container(sessionId, node).inspect();
      if (!info.State.Running) return undefined;
      return info.NetworkSettings.Networks[this.#networkName(sessionId)]?.IPAddress || undefined;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }
}
