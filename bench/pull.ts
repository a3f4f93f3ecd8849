/**
 * Pull benchmark: `docker pull` of a ~117 MB image (the mirror's debian:bookworm) inside a
 * learner's node, whose engine is rootless behind slirp4netns, against the same pull by a
 * root engine (Docker-in-Docker as root, from the same sandbox image, the same daemon
 * settings) on the same session network from the same mirror, alternating, in one run.
 *
 * Why not the host's own engine: the mirror is filled from the host engine's images, so the
 * host already has every layer and its "pull" would download nothing.
 *
 * Talks only to the local engine, the mirror and the containers it creates; removes them when
 * it ends.
 *
 *   node bench/pull.ts [--runs N]
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { docker, testImages } from '../tests/support/engine.ts';
import { baseLabels, labelKeys, labelFilter, objectName } from '../server/sandbox/docker/labels.ts';
import { BenchError, instance, median, parseCountOption, runBench, sortedCopy, timed, type BenchRun, type Table } from './support.ts';

const image = 'debian:bookworm';
const pullTimeoutMs = 300_000;

interface Results {
  rootless: number[];
  root: number[];
  imageMb?: number;
}
const results: Results = { rootless: [], root: [] };

/** Runs a command in a container (not through a shell of the learner's) and waits for it; throws on failure. */
async function execIn(containerName: string, command: string): Promise<string> {
  const exec = await docker.getContainer(containerName).exec({ Cmd: ['sh', '-c', command], AttachStdout: true, AttachStderr: true });
  const stream = (await exec.start({ hijack: true, stdin: false })) as Duplex;
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new BenchError(`${command} took over ${pullTimeoutMs / 1000} s`)), pullTimeoutMs);
    stream.on('end', () => {
      clearTimeout(timer);
      resolve();
    });
    stream.on('error', reject);
  });
  const output = Buffer.concat(chunks).toString('latin1');
  const { ExitCode } = await exec.inspect();
  if (ExitCode !== 0) throw new BenchError(`${command} failed (exit ${ExitCode}): ${output.slice(-500)}`);
  return output;
}

/** A root engine from the sandbox image, with every capability, on the session's network, pulling through the same mirror. */
async function startRootEngine(sessionId: string): Promise<string> {
  const network = objectName(instance, sessionId);
  const mirrors = await docker.listContainers({ filters: labelFilter(instance, { [labelKeys.role]: 'mirror' }) });
  const mirrorAddress = mirrors[0]?.NetworkSettings?.Networks?.[network]?.IPAddress;
  if (!mirrorAddress) throw new BenchError('The mirror is not on the session network.');
  const name = objectName(instance, sessionId, 'root-engine');
  const images = await testImages();
  const container = await docker.createContainer({
    name,
    Image: images.sandbox,
    User: 'root',
    // The image's /etc/docker/daemon.json gives the mirror and overlay2, as the node's engine has.
    // Lookups go straight to an address where nothing listens, so outside names fail at once,
    // as in a node (dockerd asks for docker.io before the mirror; Docker's embedded resolver
    // on a network with no way out would keep it waiting).
    Entrypoint: ['sh', '-c', 'echo "nameserver 127.0.0.1" >/etc/resolv.conf && exec dockerd --host unix:///var/run/docker.sock --data-root /var/lib/bench-docker'],
    Env: ['DOCKER_HOST=unix:///var/run/docker.sock'],
    Labels: { ...baseLabels(instance, 'sandbox'), [labelKeys.session]: sessionId, [labelKeys.node]: 'root-engine' },
    HostConfig: {
      // --privileged does not start here; these are the flags a root DinD engine ran with on
      // these machines before the nodes went rootless (never given to a learner).
      CapAdd: ['ALL'],
      CapDrop: ['SYS_RESOURCE'],
      SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
      NetworkMode: network,
      ExtraHosts: [`mirror:${mirrorAddress}`],
      // overlay2 cannot sit on the container's own overlay; a volume is a plain directory.
      Mounts: [{ Type: 'volume', Source: `${name}-data`, Target: '/var/lib/bench-docker' }],
    },
  });
  await container.start();
  for (let waited = 0; waited < 60_000; waited += 250) {
    const answered = await execIn(name, 'docker version --format {{.Server.Version}}').catch(() => undefined);
    if (answered) return name;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const logs = await docker.getContainer(name).logs({ stdout: true, stderr: true, tail: 10 }).catch(() => '');
  throw new BenchError(`The root engine did not start within 60 s: ${logs.toString()}`);
}

async function body(run: BenchRun, runs: number): Promise<void> {
  const driver = run.slipway.runtime.driver;
  const sessionId = randomBytes(6).toString('hex');
  run.active.add(sessionId);
  console.log('Starting a learner node and a root engine beside it…');
  await driver.start({ sessionId, learnerId: 'bench-pull', nodes: ['node1'] }, () => undefined);
  const rootEngine = await startRootEngine(sessionId);
  const node = objectName(instance, sessionId, 'node1');
  const sized = await execIn(rootEngine, `docker pull -q ${image} >/dev/null && docker image inspect --format '{{.Size}}' ${image} && docker rmi -f ${image} >/dev/null`);
  results.imageMb = Number(sized.replace(/[^\d]/g, '')) / 1e6;
  // The rootless engine's first pull, too, so that neither side pays a first time the other does not.
  await execIn(node, `docker pull -q ${image} >/dev/null && docker rmi -f ${image} >/dev/null`);
  for (let i = 0; i < runs; i++) {
    run.interrupts.checkpoint();
    for (const [side, container] of [
      ['rootless', node],
      ['root', rootEngine],
    ] as const) {
      const pulled = await timed(() => execIn(container, `docker pull -q ${image}`));
      results[side].push(pulled.ms);
      await execIn(container, `docker rmi -f ${image} >/dev/null && docker builder prune -af >/dev/null 2>&1 || true`);
      console.log(`  run ${i + 1}: ${side} ${Math.round(pulled.ms)} ms`);
    }
  }
}

function report(): Table[] {
  const row = (label: string, values: number[]) => {
    const sorted = sortedCopy(values);
    return [label, String(values.length), (sorted[0] ?? 0).toFixed(0), median(sorted).toFixed(0), (sorted.at(-1) ?? 0).toFixed(0)];
  };
  const ratio = results.root.length > 0 && results.rootless.length > 0 ? median(sortedCopy(results.rootless)) / median(sortedCopy(results.root)) : undefined;
  return [
    {
      title: `**docker pull ${image}** (${results.imageMb?.toFixed(0) ?? '?'} MB unpacked) from the mirror, ms, alternating in one run`,
      header: ['engine', 'runs', 'min', 'median', 'max'],
      rows: [
        row("learner's node (rootless, slirp4netns)", results.rootless),
        row('root engine (root DinD, same image and network)', results.root),
        ...(ratio === undefined ? [] : [['ratio rootless / root (medians)', '', '', ratio.toFixed(2), '']]),
      ],
    },
  ];
}

runBench<number>({
  options: (argv) => parseCountOption(argv, { name: 'runs', defaultValue: 5, min: 1, max: 50, usage: 'Usage: node bench/pull.ts [--runs N]   (default 5)' }),
  body,
  report,
});
