/**
 * The course's Python index passes through to its upstream when online and keeps what it
 * fetched for when the host is offline. The "upstream" is a web server this test starts on a
 * network it creates with no route out; traffic goes only to containers this test creates.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEngine, idempotent, type Docker } from '../server/sandbox/docker/engine.ts';
import { labelFilter, labelKeys, objectName } from '../server/sandbox/docker/labels.ts';
import { runClient, testImages } from './support/engine.ts';
import { testInstance } from './support/slipway.ts';

let docker: Docker;
const runId = randomBytes(4).toString('hex');
const labels = () => ({ [labelKeys.managed]: 'true', [labelKeys.instance]: testInstance(), [labelKeys.role]: 'helper', 'org.slipway.test': runId });
const network = () => objectName(testInstance(), 'pypi', runId);
const name = (part: string) => objectName(testInstance(), 'pypi', runId, part);

async function start(part: string, options: Parameters<Docker['createContainer']>[0]): Promise<void> {
  const container = await docker.createContainer({
    ...options,
    name: name(part),
    Labels: labels(),
    HostConfig: { ...options.HostConfig, NetworkMode: network(), Dns: ['127.0.0.1'] },
    NetworkingConfig: { EndpointsConfig: { [network()]: { Aliases: [part] } } },
  });
  await container.start();
}

/** Runs a busybox script on the test network; returns what it printed. */
async function client(script: string): Promise<string> {
  return runClient({ network: network(), image: (await testImages()).busybox, script, labels: labels() });
}

const upstreamScript = `
mkdir -p /tmp/up/simple/demo /tmp/up/packages/ab && cd /tmp/up
printf 'demo wheel bytes' > packages/ab/demo-1.0-py3-none-any.whl
printf '<html><body><a href="http://upstream:8000/packages/ab/demo-1.0-py3-none-any.whl#sha256=00" data-requires-python="&gt;=3.8">demo-1.0-py3-none-any.whl</a></body></html>' > simple/demo/index.html
exec python3 -m http.server 8000 --bind 0.0.0.0`;

beforeAll(async () => {
  docker = connectEngine();
  const images = await testImages();
  await docker.createNetwork({ Name: network(), Driver: 'bridge', Internal: true, Labels: labels() });
  await start('upstream', { Image: images.pypi, User: '65534:65534', Entrypoint: ['sh', '-c', upstreamScript] });
  const upstream = ['--simple-upstream', 'http://upstream:8000/simple/', '--files-upstream', 'http://upstream:8000/'];
  await start('online', { Image: images.pypi, Cmd: upstream });
  await start('offline', { Image: images.pypi, Cmd: upstream, Env: ['PYPI_OFFLINE=1'] });
  await client('for i in $(seq 100); do wget -q -O /dev/null http://online:3141/simple/ && wget -q -O /dev/null http://upstream:8000/simple/demo/ && exit 0; sleep 0.1; done');
});

afterAll(async () => {
  const containers = await docker.listContainers({ all: true, filters: labelFilter(testInstance(), { 'org.slipway.test': runId }) });
  for (const info of containers) await idempotent(() => docker.getContainer(info.Id).remove({ force: true, v: true }));
  await idempotent(() => docker.getNetwork(network()).remove());
});

describe('the pypi cache', () => {
  it('serves the seeded wheels, online or not', async () => {
    const output = await client('wget -q -O - http://offline:3141/simple/flask/');
    expect(output).toMatch(/files\/[Ff]lask-[\d.]+-py3-none-any\.whl#sha256=/);
  });

  it('online, passes a project it lacks through to the upstream, its links pointing back at itself', async () => {
    const page = await client('wget -q -O - http://online:3141/simple/demo/');
    expect(page).toContain('href="/files/packages/ab/demo-1.0-py3-none-any.whl#sha256=00"');
    expect(page).toContain('data-requires-python="&gt;=3.8"');
    expect(await client('wget -q -O - http://online:3141/files/packages/ab/demo-1.0-py3-none-any.whl')).toBe('demo wheel bytes');
  });

  it('keeps what it fetched: served with the upstream gone', async () => {
    await docker.getContainer(name('upstream')).stop({ t: 1 });
    expect(await client('wget -q -O - http://online:3141/files/packages/ab/demo-1.0-py3-none-any.whl')).toBe('demo wheel bytes');
    expect(await client('wget -q -O - http://online:3141/simple/other/ 2>&1; echo status=$?')).toMatch(/status=1/);
  });

  it('offline, never asks the upstream and says why', async () => {
    const output = await client('wget -S -O - http://offline:3141/simple/demo/ 2>&1');
    expect(output).toMatch(/404/);
  });

  it('refuses paths outside its files', async () => {
    const output = await client('wget -S -O - "http://online:3141/files/../../etc/passwd" 2>&1; wget -S -O - "http://online:3141/files/%2e%2e/%2e%2e/etc/passwd" 2>&1');
    expect(output).not.toMatch(/root:x:0/);
  });
});
