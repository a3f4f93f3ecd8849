/**
 * A learner owns their sandbox and nothing else. These tests try to leave it: to reach the
 * host's services, another learner's node, the host's disk, and to change the shared mirror.
 * Each attempt has a control that shows the target is really there.
 *
 * Traffic goes only to this machine and to containers the tests create.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Slipway } from '../server/main.ts';
import { objectName } from '../server/sandbox/docker/labels.ts';
import { startTestSlipway, testInstance } from './support/slipway.ts';

let slipway: Slipway;
const learnerA = randomBytes(6).toString('hex');
const learnerB = randomBytes(6).toString('hex');
let hostListener: net.Server;
let hostPort: number;

const run = (sessionId: string, command: string, timeoutMs = 20000) => slipway.runtime.driver.run(sessionId, 'node1', command, timeoutMs);

async function addressOf(sessionId: string): Promise<{ ip: string; gateway: string; subnet: string }> {
  const docker = slipway.runtime.docker;
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
  it('reach services on the host, even after adding a route', async () => {
    const docker = slipway.runtime.docker;
    // Control: from an ordinary container on the default bridge, the service answers on the
    // host's address there.
    const control = await docker.createContainer({
      Image: slipway.runtime.images.sandbox,
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

    const { gateway } = await addressOf(learnerA);
    const direct = await run(learnerA, `curl -s -m 3 telnet://${gateway}:${hostPort} </dev/null; echo "exit=$?"`);
    expect(direct.output).not.toContain('host-secret');
    const routed = await run(
      learnerA,
      `ip route add default via ${gateway} 2>&1; curl -s -m 3 telnet://${hostBridgeAddress}:${hostPort} </dev/null; echo "exit=$?"; ip route del default 2>/dev/null; true`,
    );
    expect(routed.output).not.toContain('host-secret');
  });

  it('reach another learner\'s node', async () => {
    const b = await addressOf(learnerB);
    const a = await addressOf(learnerA);
    await run(learnerB, "docker run -d --network host --name listener busybox sh -c 'while true; do echo learner-b-secret | nc -l -p 7000; done'", 30000);
    // Control: the listener answers on B's own address.
    const control = await run(learnerB, `sleep 0.5; docker run --rm --network host busybox nc -w 2 ${b.ip} 7000 </dev/null`, 30000);
    expect(control.output).toContain('learner-b-secret');
    const direct = await run(learnerA, `docker run --rm --network host busybox nc -w 2 ${b.ip} 7000 </dev/null; echo "exit=$?"`, 30000);
    expect(direct.output).not.toContain('learner-b-secret');
    const routed = await run(
      learnerA,
      `ip route add ${b.subnet} via ${a.gateway} 2>&1; docker run --rm --network host busybox nc -w 2 ${b.ip} 7000 </dev/null; echo "exit=$?"`,
      30000,
    );
    expect(routed.output).not.toContain('learner-b-secret');
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
    const result = await run(learnerA, "awk '/^CapBnd/ { print $2 }' /proc/self/status");
    const bounding = BigInt(`0x${result.output.trim()}`);
    const forbidden = { DAC_READ_SEARCH: 2, SYS_MODULE: 16, SYS_RAWIO: 17, SYS_PACCT: 20, SYS_BOOT: 22, SYS_RESOURCE: 24, SYS_TIME: 25, MAC_ADMIN: 33, SYSLOG: 34, BPF: 39, PERFMON: 38 };
    for (const [name, bit] of Object.entries(forbidden)) {
      expect((bounding >> BigInt(bit)) & 1n, `${name} is in the bounding set`).toBe(0n);
    }
    const moduleLoad = await run(learnerA, 'modprobe dummy 2>&1 || echo refused');
    expect(moduleLoad.output).toMatch(/refused|not permitted|not found/i);
  });
});
