/**
 * Session networks are `--internal`, so the engine already drops traffic they would forward
 * elsewhere. Traffic addressed to the host itself (the bridge's gateway address, or any other
 * address of the host, which a learner with NET_ADMIN in their node can route to) is not
 * forwarded but delivered, and would reach the Slipway server, the engine's API if exposed,
 * and every other service on the host. These rules drop it, for IPv4 and IPv6.
 *
 * Replies to connections the host opened are let through (conntrack ESTABLISHED,RELATED, above
 * the drop): the server proxies learners' published ports (server/ports/), so it opens
 * connections to nodes and must hear their answers; a node still cannot open one to the host.
 *
 * The rules are added from a short-lived container in the host's network namespace, so the
 * server needs no iptables of its own and no root beyond access to the engine.
 */
import type { Logger } from '../../log.ts';
import { idempotent, type Docker } from './engine.ts';
import { baseLabels, objectName } from './labels.ts';

/** Every session network's bridge is named with this prefix (at most 15 characters in all). */
export const bridgePrefix = 'slw';

const replies = `-i ${bridgePrefix}+ -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`;

/** For each tool: the drop if it is missing, then the accept of replies moved (or put) above it. */
export const firewallScript = ['iptables', 'ip6tables']
  .map(
    (tool) =>
      `{ ${tool} -C INPUT -i ${bridgePrefix}+ -j DROP 2>/dev/null || ${tool} -I INPUT -i ${bridgePrefix}+ -j DROP; } && ` +
      `{ ${tool} -D INPUT ${replies} 2>/dev/null; ${tool} -I INPUT 1 ${replies}; }`,
  )
  .join(' && ');

export async function ensureHostFirewall(docker: Docker, instance: string, image: string, log: Logger): Promise<void> {
  const name = objectName(instance, 'firewall');
  await idempotent(() => docker.getContainer(name).remove({ force: true, v: true }));
  const container = await docker.createContainer({
    name,
    Image: image,
    Labels: baseLabels(instance, 'helper'),
    Entrypoint: ['sh', '-c'],
    Cmd: [firewallScript],
    HostConfig: { NetworkMode: 'host', CapAdd: ['NET_ADMIN', 'NET_RAW'] },
  });
  try {
    await container.start();
    const result = (await container.wait()) as { StatusCode: number };
    if (result.StatusCode !== 0) {
      const logs = (await container.logs({ stdout: true, stderr: true })).toString();
      throw new Error(`adding the host firewall rules failed: ${logs.trim()}`);
    }
    log.debug('host firewall rules in place', { bridges: `${bridgePrefix}+` });
  } finally {
    await idempotent(() => container.remove({ force: true, v: true }));
  }
}
