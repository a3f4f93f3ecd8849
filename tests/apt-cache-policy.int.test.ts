/**
 * The apt cache is not an open proxy: asked for anything but Debian's archive, it refuses
 * without connecting. It is tested ONLINE here (the shared one runs offline, which would
 * refuse for another reason), on a network the test creates with no route out and no
 * resolver, next to a web server the test starts as the "other host". A control shows that
 * the same request to that server, made directly, is answered.
 *
 * Traffic goes only to containers this test creates.
 */
import { runClient, testImages } from './support/engine.ts';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEngine, idempotent, type Docker } from '../server/sandbox/docker/engine.ts';
import { labelFilter, labelKeys, objectName } from '../server/sandbox/docker/labels.ts';
import type { Slipway } from '../server/main.ts';
import { startTestSlipway, testInstance } from './support/slipway.ts';

let slipway: Slipway;
let docker: Docker;
const runId = randomBytes(4).toString('hex');
const labels = () => ({ [labelKeys.managed]: 'true', [labelKeys.instance]: testInstance(), [labelKeys.role]: 'helper', 'org.slipway.test': runId });
const network = () => objectName(testInstance(), 'policy', runId);
let cacheIp: string;
let targetIp: string;

async function startOn(name: string, options: Parameters<Docker['createContainer']>[0]): Promise<string> {
  const container = await docker.createContainer({
    ...options,
    name: objectName(testInstance(), 'policy', runId, name),
    Labels: labels(),
    HostConfig: { ...options.HostConfig, NetworkMode: network(), Dns: ['127.0.0.1'] },
  });
  await container.start();
  return (await container.inspect()).NetworkSettings.Networks[network()]?.IPAddress ?? '';
}

/** Runs a shell script in a throwaway container on the test network; returns what it printed. */
async function client(script: string, chosen?: string): Promise<string> {
  const image = chosen ?? (await testImages()).sandbox;
  return runClient({ network: network(), image, script, labels: labels(), user: '1000:1000' });
}

beforeAll(async () => {
  slipway = await startTestSlipway();
  docker = connectEngine();
  await docker.createNetwork({ Name: network(), Driver: 'bridge', Internal: true, Labels: labels() });
  // apt-cache as it runs online: no Offlinemode argument.
  cacheIp = await startOn('apt-cache', { Image: (await testImages())['apt-cache'] });
  targetIp = await startOn('target', {
    Image: (await testImages()).busybox,
    Cmd: ['sh', '-c', 'mkdir -p /www && echo other-host-content > /www/index.html && exec httpd -f -vv -p 80 -h /www'],
  });
  // apt-cacher-ng takes a moment to listen.
  await client(`for i in $(seq 50); do curl -s -o /dev/null http://${cacheIp}:3142/ && exit 0; sleep 0.1; done`);
});

afterAll(async () => {
  const containers = await docker.listContainers({ all: true, filters: labelFilter(testInstance(), { 'org.slipway.test': runId }) });
  for (const info of containers) await idempotent(() => docker.getContainer(info.Id).remove({ force: true }));
  await idempotent(() => docker.getNetwork(network()).remove());
  await slipway?.stop();
});

async function targetLog(): Promise<string> {
  const logs = await docker.getContainer(objectName(testInstance(), 'policy', runId, 'target')).logs({ stdout: true, stderr: true });
  return logs.toString();
}

describe('the apt cache', () => {
  it('refuses to fetch from any other host, in every form a client can ask', async () => {
    const proxy = `http://${cacheIp}:3142`;
    const output = await client(
      [
        `curl -s -o /dev/null -w 'proxied=%{http_code}\\n' -x ${proxy} http://${targetIp}/index.html`,
        // A Debian-looking path on another host is still another host.
        `curl -s -o /dev/null -w 'debian-path=%{http_code}\\n' -x ${proxy} http://${targetIp}/debian/dists/bookworm/InRelease`,
        `curl -s -o /dev/null -w 'path-form=%{http_code}\\n' ${proxy}/${targetIp}/index.html`,
        `curl -s -o /dev/null -w 'connect=%{http_connect}\\n' -p -x ${proxy} http://${targetIp}:80/index.html`,
        `curl -s -o /dev/null -w 'connect-443=%{http_connect}\\n' -p -x ${proxy} http://${targetIp}:443/`,
        `curl -s -o /dev/null -w 'report-page=%{http_code}\\n' ${proxy}/acng-report.html`,
      ].join('; '),
    );
    expect(output).toContain('proxied=403');
    expect(output).toContain('debian-path=403');
    expect(output).toContain('path-form=403');
    expect(output).toContain('connect=403');
    expect(output).toContain('connect-443=403');
    expect(output).toContain('report-page=403');
    // Nothing reached the other host.
    expect(await targetLog()).not.toMatch(/GET|url:|response/i);
  });

  it('serves a Debian package it holds (control: the policy lets Debian through)', async () => {
    const path = (
      await client('cd /var/cache/apt-cacher-ng/debrep && find pool -name "python3-pip_*.deb" | head -n1', (await testImages())['apt-cache'])
    ).trim();
    expect(path).toMatch(/^pool\/main\/.*\.deb$/);
    const output = await client(`curl -s -o /dev/null -w 'debian=%{http_code}\\n' -x http://${cacheIp}:3142 http://deb.debian.org/debian/${path}`);
    expect(output).toContain('debian=200');
  });

  it('control: the other host answers when asked directly', async () => {
    const output = await client(`curl -s http://${targetIp}/index.html`);
    expect(output).toContain('other-host-content');
    expect(await targetLog()).toMatch(/GET|url:|response/i);
  });
});
