/**
 * Each session's private network gets a small subnet (/28: the gateway, the shared services
 * and nine nodes) from a pool of its own (SLIPWAY_SUBNET_POOL), instead of one of Docker's
 * default address pools, of which a host has about 30: a /16 pool holds 4,096 sessions.
 * Allocation takes the first subnet no network on the engine uses; two servers allocating at
 * once on one engine make the engine refuse one of them, which then tries the next.
 */
import { SlipwayError } from '../../errors.ts';
import type { Docker } from './engine.ts';

export const sessionPrefixLength = 28;

function parseIpv4(text: string): number {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0 || part > 255)) throw new Error(`not an IPv4 address: ${text}`);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
}

/** `a.b.c.d/n` as its first address and size; throws on anything else. */
export function parseCidr(cidr: string): { start: number; size: number; prefix: number } {
  const [address = '', bits = ''] = cidr.split('/');
  const prefix = Number(bits);
  if (!/^\d+$/.test(bits) || prefix < 8 || prefix > 32) throw new Error(`not an IPv4 network: ${cidr}`);
  const size = 2 ** (32 - prefix);
  const start = parseIpv4(address);
  if (start % size !== 0) throw new Error(`${cidr} does not start on a /${prefix} boundary`);
  return { start, size, prefix };
}

function overlaps(a: { start: number; size: number }, b: { start: number; size: number }): boolean {
  return a.start < b.start + b.size && b.start < a.start + a.size;
}

/** The first /28 of `pool` that overlaps none of `used` (CIDRs; others are ignored), or undefined. */
export function freeSubnet(pool: string, used: readonly string[], skip = 0): string | undefined {
  const range = parseCidr(pool);
  const taken = used.flatMap((cidr) => {
    try {
      return [parseCidr(cidr)];
    } catch {
      return [];
    }
  });
  const step = 2 ** (32 - sessionPrefixLength);
  let skipped = 0;
  for (let start = range.start; start + step <= range.start + range.size; start += step) {
    if (taken.some((other) => overlaps({ start, size: step }, other))) continue;
    if (skipped++ < skip) continue;
    return `${formatIpv4(start)}/${sessionPrefixLength}`;
  }
  return undefined;
}

export interface SessionNetworkSpec {
  name: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  pool: string;
}

/** This process's allocations, one at a time (so that they never race each other). */
let allocating: Promise<unknown> = Promise.resolve();

/** Creates the session's internal network on a free subnet of the pool. */
export function createSessionNetwork(docker: Docker, spec: SessionNetworkSpec): Promise<string> {
  const created = allocating.then(() => allocate(docker, spec));
  allocating = created.catch(() => undefined);
  return created;
}

async function allocate(docker: Docker, spec: SessionNetworkSpec): Promise<string> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const used = (await docker.listNetworks()).flatMap((info) => (info.IPAM?.Config ?? []).map((config) => config.Subnet ?? ''));
    const subnet = freeSubnet(spec.pool, used, attempt);
    if (!subnet) {
      throw new SlipwayError('OUT_OF_CAPACITY', `Every subnet of ${spec.pool} (SLIPWAY_SUBNET_POOL) is in use; the server cannot start another sandbox.`);
    }
    try {
      await docker.createNetwork({
        Name: spec.name,
        Driver: 'bridge',
        Internal: true,
        Labels: spec.labels,
        Options: spec.options,
        IPAM: { Driver: 'default', Config: [{ Subnet: subnet }] },
      });
      return subnet;
    } catch (error) {
      // Another server on this engine took the subnet between our look and our create: try the next one.
      if (!/overlap|pool/i.test(String((error as Error).message))) throw error;
    }
  }
  throw new SlipwayError('SANDBOX_FAILED', 'No free subnet could be reserved for your sandbox. Please try again in a moment.');
}
