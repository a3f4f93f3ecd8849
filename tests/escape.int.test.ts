/**
 * A learner owns their sandbox and nothing else. These tests try to leave it: to reach the
 * host's services, another learner's node, the host's disk, and to change the shared mirror.
 * Each attempt has a control that shows the target is really there.
 *
 * Traffic goes only to this machine and to containers the tests create.
 */
import { asLearner, docker, testImages } from './support/engine.ts';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Slipway } from '../server/main.ts';
import { runInNode } from '../server/sandbox/docker/exec.ts';
import { objectName } from '../server/sandbox/docker/labels.ts';
import { nodeUidBase } from '../server/sandbox/docker/node-users.ts';
import { startTestSlipway, testInstance } from './support/slipway.ts';

let slipway: Slipway;
const learnerA = randomBytes(6).toString('hex');
const learnerB = randomBytes(6).toString('hex');
let hostListener: net.Server;
let hostPort: number;

const run = (sessionId: string, command: string, timeoutMs = 20000) => slipway.runtime.driver.run(sessionId, 'node1', command, timeoutMs, asLearner);

async function addressOf(sessionId: string): Promise<{ ip: string; gateway: string; subnet: string }> {
  const network = objectName(testInstance(), sessionId);
  const container = await docker.getContainer(objectName(testInstance(), sessionId, 'node1')).inspect();
  const endpoint = container.NetworkSettings.Networks[network];
  const ipam = (await docker.getNetwork(network).inspect()).IPAM?.Config?.[0];
  if (!endpoint || !ipam?.Subnet) throw new Error(`no address for ${sessionId}`);
  return { ip: endpoint.IPAddress, gateway: ipam.Gateway ?? endpoint.Gateway, subnet: ipam.Subnet };
}

beforeAll(async () => {
  slipway = await startTestSlipway();
  await Promise.all(
    [learnerA, learnerB].map((sessionId) => slipway.runtime.driver.start({ sessionId, learnerId: `escape-${sessionId}`, nodes: ['node1'] }, () => undefined)),
  );
  // A service on the host, on every address, as an operator's SSH or database would be.
  hostListener = net.createServer((socket) => socket.end('host-secret\n'));
  await new Promise<void>((resolve) => hostListener.listen(0, '0.0.0.0', resolve));
  hostPort = (hostListener.address() as AddressInfo).port;
});

afterAll(async () => {
  hostListener?.close();
  await Promise.all([learnerA, learnerB].map((sessionId) => slipway.runtime.driver.stop(sessionId)));
  await slipway.stop();
});

describe('a learner cannot', () => {
  it('reach services on the host', async () => {
    // Control: from an ordinary container on the default bridge, the service answers on the
    // host's address there.
    const control = await docker.createContainer({
      Image: (await testImages()).sandbox,
      Entrypoint: ['sh', '-c', `gw=$(ip route | awk '/^default/ { print $3 }'); echo "gateway=$gw"; curl -s -m 5 telnet://$gw:${hostPort} </dev/null`],
      Labels: { 'org.slipway.instance': testInstance(), 'org.slipway.role': 'helper' },
      HostConfig: { NetworkMode: 'bridge' },
    });
    await control.start();
    await control.wait();
    const controlOutput = (await control.logs({ stdout: true, stderr: true })).toString();
    await control.remove({ force: true, v: true });
    const hostBridgeAddress = /gateway=([0-9.]+)/.exec(controlOutput)?.[1];
    expect(hostBridgeAddress).toBeTruthy();
    expect(controlOutput).toContain('host-secret');

    // The learner's network namespace is rootlesskit's; whatever they do to its routes, their
    // traffic leaves through slirp4netns from the node's own namespace, which they cannot change.
    const { gateway } = await addressOf(learnerA);
    for (const address of [gateway, hostBridgeAddress]) {
      const attempt = await run(learnerA, `curl -s -m 3 telnet://${address}:${hostPort} </dev/null; echo "exit=$?"`);
      expect(attempt.output).toMatch(/exit=[1-9]/);
      expect(attempt.output).not.toContain('host-secret');
    }
  });

  it('reach another learner\'s node', async () => {
    const b = await addressOf(learnerB);
    await run(learnerB, "docker run -d -p 7000:7000 --name listener busybox sh -c 'while true; do echo learner-b-secret | nc -l -p 7000; done'", 30000);
    // Control: the listener answers on B's own address.
    const control = await run(learnerB, `sleep 0.5; docker run --rm --network host busybox nc -w 2 ${b.ip} 7000 </dev/null`, 30000);
    expect(control.output).toContain('learner-b-secret');
    const direct = await run(learnerA, `docker run --rm --network host busybox nc -w 2 ${b.ip} 7000 </dev/null; echo "exit=$?"`, 30000);
    expect(direct.output).not.toContain('learner-b-secret');

  });

  it('change the images other learners pull from the mirror', async () => {
    const read = await run(learnerA, "curl -s -o /dev/null -w '%{http_code}' http://mirror:5000/v2/library/hello-world/manifests/latest -H 'Accept: application/vnd.docker.distribution.manifest.v2+json'");
    expect(read.output).toBe('200');
    const write = await run(learnerA, "curl -s -o /dev/null -w '%{http_code}' -X POST http://mirror:5000/v2/library/hello-world/blobs/uploads/");
    expect(write.output).not.toBe('202');
    expect(write.output).toMatch(/^[45]\d\d$/);
    const remove = await run(learnerA, "curl -s -o /dev/null -w '%{http_code}' -X DELETE http://mirror:5000/v2/library/hello-world/manifests/latest");
    expect(remove.output).toMatch(/^[45]\d\d$/);
  });

  it('read the host\'s disk', async () => {
    const result = await run(
      learnerA,
      `set -- $(awk 'NR > 2 && $4 !~ /[0-9]$/ { print $1, $2, $4; exit }' /proc/partitions); echo "device=$3"; mknod /tmp/host-disk b "$1" "$2" && head -c 512 /tmp/host-disk | wc -c; echo "exit=$?"`,
    );
    expect(result.output).toMatch(/device=\w+/);
    expect(result.output).toMatch(/Operation not permitted/);
  });

  it('use the capabilities that reach the host kernel', async () => {
    // The node itself, outside the learner's namespace: no capability beyond Docker's defaults.
    const node = docker.getContainer(objectName(testInstance(), learnerA, 'node1'));
    const outside = await runInNode(docker, node, 'node1', "awk '/^CapBnd/ { print $2 }' /proc/self/status; id -u", 10000, { enter: false });
    const [bounding, uid] = outside.output.trim().split('\n');
    // The node's own host uid (node-users.ts), not root.
    const nodeUid = (await node.inspect()).Config.User.split(':')[0];
    expect(uid).toBe(nodeUid);
    expect(Number(uid)).toBeGreaterThanOrEqual(nodeUidBase);
    const forbidden = { DAC_READ_SEARCH: 2, NET_ADMIN: 12, SYS_MODULE: 16, SYS_RAWIO: 17, SYS_PTRACE: 19, SYS_ADMIN: 21, SYS_BOOT: 22, SYS_RESOURCE: 24, SYS_TIME: 25, MAC_ADMIN: 33, SYSLOG: 34, BPF: 39, PERFMON: 38 };
    for (const [name, bit] of Object.entries(forbidden)) {
      expect((BigInt(`0x${bounding}`) >> BigInt(bit)) & 1n, `${name} is in the node's bounding set`).toBe(0n);
    }
    // The learner is root only of their own user namespace.
    const inside = await run(learnerA, "id -u; cat /proc/self/uid_map | awk '{ print $1, $2 }' | head -1");
    expect(inside.output.trim().split('\n')).toEqual(['0', `0 ${nodeUid}`]);
  });

  it('change host-wide kernel settings, even through a fresh procfs or a privileged container', async () => {
    // Writability is asked of the kernel (bash's test -w uses access(2)); nothing is written.
    const direct = await run(learnerA, "bash -c '[ -w /proc/sys/kernel/core_pattern ] && echo WRITABLE || echo not-writable'");
    expect(direct.output.trim()).toBe('not-writable');
    const freshProc = await run(learnerA, 'mkdir -p /tmp/p && mount -t proc proc /tmp/p 2>&1; echo "exit=$?"');
    expect(freshProc.output).toMatch(/exit=[1-9]/);
    const inner = await run(
      learnerA,
      "docker run --rm --cap-add ALL --security-opt seccomp=unconfined --security-opt systempaths=unconfined debian:bookworm bash -c '[ -w /proc/sys/kernel/core_pattern ] && echo WRITABLE || echo not-writable'",
      60000,
    );
    expect(inner.output).toContain('not-writable');
    expect(inner.output).not.toContain('WRITABLE');
    const modules = await run(learnerA, 'modprobe dummy 2>&1 || echo refused');
    expect(modules.output).toMatch(/refused|not permitted|not found/i);
  });
});
