/**
 * Reading what a node's inner Docker engine publishes, from its API's container list
 * (`GET /containers/json`), for any back-end whose nodes run a Docker engine.
 */
import type { PublishedPort } from './driver.ts';

/** Asks the node's rootless engine over its socket, in the node's own namespaces (where `run` runs). */
export const listContainersCommand = 'curl -sf --max-time 3 --unix-socket "$XDG_RUNTIME_DIR/docker.sock" http://engine/containers/json';

/** Addresses that mean "every address of the node": only those can be reached from outside it. */
const everyAddress = new Set(['', '0.0.0.0', '::']);

interface ApiContainer {
  Names?: unknown;
  Ports?: unknown;
}

interface ApiPort {
  IP?: unknown;
  PrivatePort?: unknown;
  PublicPort?: unknown;
  Type?: unknown;
}

/** The TCP ports published on every address, one entry per port (IPv4 and IPv6 merged), sorted. */
export function parsePublishedPorts(json: string): PublishedPort[] {
  let containers: unknown;
  try {
    containers = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(containers)) return [];
  const byPort = new Map<number, PublishedPort>();
  for (const container of containers as ApiContainer[]) {
    const names = Array.isArray(container.Names) ? container.Names : [];
    const name = typeof names[0] === 'string' ? names[0].replace(/^\//, '') : '';
    for (const entry of (Array.isArray(container.Ports) ? container.Ports : []) as ApiPort[]) {
      const { IP, PrivatePort, PublicPort, Type } = entry;
      if (Type !== 'tcp' || typeof PublicPort !== 'number' || typeof PrivatePort !== 'number') continue;
      if (!everyAddress.has(typeof IP === 'string' ? IP : '')) continue;
      if (!byPort.has(PublicPort)) byPort.set(PublicPort, { port: PublicPort, target: PrivatePort, container: name });
    }
  }
  return [...byPort.values()].sort((a, b) => a.port - b.port);
}
