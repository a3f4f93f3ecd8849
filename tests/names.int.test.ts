/**
 * Names inside a node: the session's nodes and the names in the node's /etc/hosts (the
 * mirror, package caches) resolve in the learner's shell, in inner containers on the default
 * bridge and on user-defined networks, and in `docker build` steps; every other name fails at
 * once, with NXDOMAIN rather than a timeout.
 *
 * Traffic goes only to containers this file creates; outside names are answered inside the
 * node and never sent anywhere.
 */
import { asLearner } from './support/engine.ts';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Slipway } from '../server/main.ts';
import { startTestSlipway } from './support/slipway.ts';

let slipway: Slipway;
const sessionId = randomBytes(6).toString('hex');

const ok = async (node: string, command: string, timeoutMs = 60000) => {
  const result = await slipway.runtime.driver.run(sessionId, node, command, timeoutMs, asLearner);
  expect(result.exitCode, `${node}: ${command}\n${result.output}`).toBe(0);
  return result.output;
};

/** Prints "<name> <ms> <exit status>" per lookup, timed in the node. */
const timedLookups = (lookup: string, names: string[]) =>
  names.map((name) => `s=$(date +%s%N); ${lookup} ${name} >/dev/null 2>&1; rc=$?; echo "${name} $(( ($(date +%s%N) - s) / 1000000 )) $rc"`).join('; ');

function parseTimings(output: string): Map<string, { ms: number; status: number }> {
  const timings = new Map<string, { ms: number; status: number }>();
  for (const match of output.matchAll(/^(\S+) (\d+) (\d+)$/gm)) timings.set(match[1]!, { ms: Number(match[2]), status: Number(match[3]) });
  return timings;
}

beforeAll(async () => {
  slipway = await startTestSlipway();
  await slipway.runtime.driver.start({ sessionId, learnerId: 'names-test', nodes: ['node1', 'node2'] }, () => undefined);
  // A web server published on node1, for the other node's containers to reach by name.
  await ok('node1', `docker run -d --name web -p 8080:8080 busybox sh -c 'mkdir /www && echo hello-from-node1 > /www/index.html && exec httpd -f -p 8080 -h /www'`);
  await ok('node2', 'docker pull -q busybox');
});

afterAll(async () => {
  await slipway.runtime.driver.stop(sessionId);
  await slipway.stop();
});

describe('names inside a node', () => {
  it('resolve in the learner\'s shell, and outside names fail at once', async () => {
    const output = await ok('node2', timedLookups('getent hosts', ['node1', 'node2', 'mirror', 'node7', 'example.org', 'registry-1.docker.io']));
    const timings = parseTimings(output);
    for (const name of ['node1', 'node2', 'mirror']) expect(timings.get(name)?.status, `${name}\n${output}`).toBe(0);
    for (const name of ['node7', 'example.org', 'registry-1.docker.io']) {
      expect(timings.get(name)?.status, `${name}\n${output}`).not.toBe(0);
      expect(timings.get(name)?.ms, `${name}\n${output}`).toBeLessThan(2000);
    }
    expect(await ok('node2', 'curl -s -m 5 http://node1:8080/')).toContain('hello-from-node1');
  });

  it('resolve in containers on the inner default bridge; outside names get NXDOMAIN', async () => {
    const started = Date.now();
    const output = await ok(
      'node2',
      `docker run --rm busybox sh -c 'nslookup node1 && nslookup mirror && wget -qO- http://node1:8080/ && { nslookup example.org; nslookup node7; true; }'`,
    );
    expect(output).toMatch(/Name:\s+node1\s+Address: \d+\.\d+\.\d+\.\d+/);
    expect(output).toMatch(/Name:\s+mirror/);
    expect(output).toContain('hello-from-node1');
    expect(output).toContain("can't find example.org: NXDOMAIN");
    expect(output).toContain("can't find node7: NXDOMAIN");
    // The whole container run, lookups included: nothing waited for a timeout.
    expect(Date.now() - started).toBeLessThan(10000);
  });

  it('resolve in containers on an inner user-defined network, and for the node\'s own name', async () => {
    const output = await ok(
      'node1',
      `docker network create lessons >/dev/null && docker run --rm --network lessons busybox sh -c 'nslookup node2 && wget -qO- http://node1:8080/ && { nslookup example.org; true; }'`,
    );
    expect(output).toMatch(/Name:\s+node2/);
    expect(output).toContain('hello-from-node1');
    expect(output).toContain("can't find example.org: NXDOMAIN");
  });

  it('resolve in docker build steps', async () => {
    const dockerfile = 'FROM busybox\\nRUN nslookup node1 && wget -qO- http://node1:8080/\\n';
    const output = await ok('node2', `printf '${dockerfile}' | docker build --no-cache -`);
    expect(output).toContain('hello-from-node1');
  });
});
