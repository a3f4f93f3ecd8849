/**
 * Sandboxes as Docker-in-Docker containers on the local engine. One session gets an
 * internal network of its own (which the mirror joins) and one container per node, each
 * with its own volume for the inner /var/lib/docker.
 */
import { randomUUID } from 'node:crypto';
import { PassThrough, type Duplex } from 'node:stream';
import type { Logger } from '../../log.ts';
import { SlipwayError } from '../../errors.ts';
import type { RunResult, SandboxDriver, SandboxInfo, SandboxSpec, Shell, ShellOptions, StartPhase } from '../driver.ts';
import { engineUnavailable, idempotent, isEngineUnreachable, statusOf, type Docker } from './engine.ts';
import { bridgePrefix } from './firewall.ts';
import { baseLabels, labelFilter, labelKeys, objectName } from './labels.ts';

export interface DockerDriverOptions {
  instance: string;
  sandboxImage: string;
  mirrorContainer: string;
  memoryMb: number;
  cpus: number;
  pids: number;
  /** OCI runtime for the nodes (engine default when unset). */
  runtime?: string | undefined;
  /** Longest wait for a node's inner engine to answer. */
  engineTimeoutMs?: number;
}

const maxRunOutput = 64 * 1024;

/**
 * Capabilities of a sandbox node: Docker's default set (which the inner engine hands to the
 * learner's containers) plus SYS_ADMIN and NET_ADMIN for the inner engine's mounts, cgroups,
 * bridges and iptables. Everything else stays out, in particular the ones that reach the host
 * kernel: DAC_READ_SEARCH (open_by_handle_at reads host files), SYS_MODULE, SYS_RAWIO,
 * SYS_TIME, SYSLOG, BPF, PERFMON, MAC_ADMIN, AUDIT_CONTROL and SYS_RESOURCE. Measured: with
 * this set, `docker run`, volumes, networks, build, push and a registry all work inside;
 * `docker run --privileged` inside does not (the device cgroup refuses it).
 */
export const sandboxCapabilities = [
  'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'NET_BIND_SERVICE',
  'NET_RAW', 'SYS_CHROOT', 'MKNOD', 'AUDIT_WRITE', 'SETFCAP',
  'SYS_ADMIN', 'NET_ADMIN', 'SYS_PTRACE', 'IPC_LOCK', 'IPC_OWNER', 'SYS_NICE', 'LINUX_IMMUTABLE',
] as const;

export class DockerDriver implements SandboxDriver {
  readonly #docker: Docker;
  readonly #options: DockerDriverOptions;
  readonly #log: Logger;

  constructor(docker: Docker, options: DockerDriverOptions, log: Logger) {
    this.#docker = docker;
    this.#options = options;
    this.#log = log;
  }

  #containerName(sessionId: string, node: string): string {
    return objectName(this.#options.instance, sessionId, node);
  }

  #networkName(sessionId: string): string {
    return objectName(this.#options.instance, sessionId);
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
    try {
      onProgress('starting', 'Creating your private network…');
      await this.#engine(() =>
        this.#docker.createNetwork({
          Name: network,
          Driver: 'bridge',
          Internal: true,
          Labels: labels,
          Options: {
            'com.docker.network.bridge.name': `${bridgePrefix}${spec.sessionId.slice(0, 12)}`,
            'com.docker.network.bridge.enable_icc': 'true',
          },
        }),
      );
      await this.#docker.getNetwork(network).connect({ Container: this.#options.mirrorContainer, EndpointConfig: { Aliases: ['mirror'] } });
      const mirror = await this.#docker.getContainer(this.#options.mirrorContainer).inspect();
      const mirrorIp = mirror.NetworkSettings.Networks[network]?.IPAddress;
      if (!mirrorIp) throw new Error('the mirror did not get an address on the session network');

      onProgress('starting', `Starting ${spec.nodes.join(', ')}…`);
      await Promise.all(spec.nodes.map((node) => this.#startNode(spec, node, network, mirrorIp, labels)));
      onProgress('waiting-engine', 'Waiting for Docker inside your sandbox to start…');
      await Promise.all(spec.nodes.map((node) => this.#waitForEngine(spec.sessionId, node)));
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

  async #startNode(spec: SandboxSpec, node: string, network: string, mirrorIp: string, labels: Record<string, string>): Promise<void> {
    const name = this.#containerName(spec.sessionId, node);
    const volume = `${name}-docker`;
    const nodeLabels = { ...labels, [labelKeys.node]: node };
    await this.#docker.createVolume({ Name: volume, Labels: nodeLabels });
    const memory = this.#options.memoryMb * 1024 * 1024;
    const container = await this.#docker.createContainer({
      name,
      Image: this.#options.sandboxImage,
      Hostname: node,
      Labels: nodeLabels,
      Env: [`SLIPWAY_NODE=${node}`],
      HostConfig: {
        // No --privileged: only the capabilities a nested dockerd and its containers use
        // (see sandboxCapabilities), no seccomp/AppArmor profile (nested containers need
        // mount, unshare, pivot_root), and a cgroup namespace of its own.
        CapDrop: ['ALL'],
        CapAdd: [...sandboxCapabilities],
        SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
        CgroupnsMode: 'private',
        Init: true,
        Memory: memory,
        MemorySwap: memory,
        NanoCpus: Math.round(this.#options.cpus * 1e9),
        PidsLimit: this.#options.pids,
        Mounts: [{ Type: 'volume', Source: volume, Target: '/var/lib/docker' }],
        NetworkMode: network,
        ExtraHosts: [`mirror:${mirrorIp}`],
        ...(this.#options.runtime ? { Runtime: this.#options.runtime } : {}),
      },
      NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [node] } } },
    } as Parameters<Docker['createContainer']>[0]);
    await container.start();
  }

  async #waitForEngine(sessionId: string, node: string): Promise<void> {
    const seconds = Math.ceil((this.#options.engineTimeoutMs ?? 60000) / 1000);
    const probe = 'until curl -sf --unix-socket /var/run/docker.sock http://engine/_ping >/dev/null 2>&1; do sleep 0.05; done';
    const result = await this.run(sessionId, node, probe, seconds * 1000);
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
    await idempotent(() => this.#docker.getNetwork(network).disconnect({ Container: this.#options.mirrorContainer, Force: true })).catch(
      (error: unknown) => {
        // The engine answers 500 when the mirror was never connected; that is fine here.
        if (!/not connected/.test(String((error as Error).message))) throw error;
      },
    );
    const networks = await this.#docker.listNetworks({ filters });
    await Promise.all(networks.map((info) => idempotent(() => this.#docker.getNetwork(info.Id).remove())));
    const volumes = await this.#docker.listVolumes({ filters } as object);
    await Promise.all((volumes.Volumes ?? []).map((info) => idempotent(() => this.#docker.getVolume(info.Name).remove())));
  }

  async list(): Promise<SandboxInfo[]> {
    const containers = await this.#engine(() =>
      this.#docker.listContainers({ all: true, filters: labelFilter(this.#options.instance, { [labelKeys.role]: 'sandbox' }) }),
    );
    const bySession = new Map<string, string[]>();
    for (const info of containers) {
      const sessionId = info.Labels[labelKeys.session];
      const node = info.Labels[labelKeys.node];
      if (!sessionId || !node) continue;
      bySession.set(sessionId, [...(bySession.get(sessionId) ?? []), node]);
    }
    return [...bySession].map(([sessionId, nodes]) => ({ sessionId, nodes: nodes.sort() }));
  }

  #container(sessionId: string, node: string) {
    return this.#docker.getContainer(this.#containerName(sessionId, node));
  }

  #missing(error: unknown, node: string): unknown {
    const status = statusOf(error);
    if (status === 404 || status === 409) {
      return new SlipwayError('SANDBOX_MISSING', `Your sandbox node ${node} is gone (it was stopped or removed). Reload the page to get a new one.`, {
        cause: error,
      });
    }
    if (isEngineUnreachable(error)) return engineUnavailable(error);
    return error;
  }

  async openShell(sessionId: string, node: string, options: ShellOptions): Promise<Shell> {
    const pidFile = `/run/slipway-shell-${randomUUID()}.pid`;
    let stream: Duplex;
    let exec;
    try {
      exec = await this.#container(sessionId, node).exec({
        Cmd: ['/bin/sh', '-c', `echo $$ > ${pidFile}; cd /root; exec /bin/bash -l`],
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        Tty: true,
        Env: ['TERM=xterm-256color', 'COLORTERM=truecolor', 'LANG=C.UTF-8'],
      });
      stream = (await exec.start({ hijack: true, stdin: true, Tty: true })) as Duplex;
    } catch (error) {
      throw this.#missing(error, node);
    }
    const startedExec = exec;
    const resize = async (cols: number, rows: number) => {
      await startedExec.resize({ w: cols, h: rows }).catch((error: unknown) => {
        // A resize that races the shell's start or end is harmless.
        if (statusOf(error) !== 404 && statusOf(error) !== 409 && statusOf(error) !== 500) throw error;
      });
    };
    await resize(options.cols, options.rows);
    const exited = new Promise<number | null>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        startedExec
          .inspect()
          .then((info) => resolve(info.ExitCode ?? null))
          .catch(() => resolve(null));
      };
      stream.on('end', finish);
      stream.on('close', finish);
      stream.on('error', finish);
    });
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      // Ending the attach stream does not end the process; the shell is told to hang up.
      await this.run(sessionId, node, `[ -f ${pidFile} ] && kill -HUP "$(cat ${pidFile})" 2>/dev/null; rm -f ${pidFile}`, 5000).catch(() => undefined);
      stream.destroy();
    };
    return { stream, resize, close, exited };
  }

  async run(sessionId: string, node: string, command: string, timeoutMs: number): Promise<RunResult> {
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    let stream: Duplex;
    let exec;
    try {
      exec = await this.#container(sessionId, node).exec({
        // coreutils' timeout ends the command inside the node even if this side goes away.
        Cmd: ['timeout', '-k', '2', String(seconds), 'sh', '-c', command],
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
      });
      stream = (await exec.start({ hijack: true, stdin: false })) as Duplex;
    } catch (error) {
      throw this.#missing(error, node);
    }
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    let size = 0;
    sink.on('data', (chunk: Buffer) => {
      if (size < maxRunOutput) chunks.push(chunk);
      size += chunk.length;
    });
    this.#docker.modem.demuxStream(stream, sink, sink);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        stream.destroy();
        resolve();
      }, (seconds + 5) * 1000);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      stream.on('end', done);
      stream.on('close', done);
      stream.on('error', done);
    });
    const info = await exec.inspect().catch(() => undefined);
    const exitCode = info?.Running ? null : (info?.ExitCode ?? null);
    return {
      exitCode,
      output: Buffer.concat(chunks).toString('utf8').slice(0, maxRunOutput),
      timedOut: exitCode === 124 || exitCode === null,
    };
  }
}
