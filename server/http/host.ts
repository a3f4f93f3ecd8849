/**
 * DNS rebinding guard: a page on some other site can make a browser send requests to this
 * server under a name the attacker controls (`rebind.evil.example` resolving to 127.0.0.1 or a
 * LAN address), and then Origin and Host agree. Such a name is never ours: only the public
 * URL's host, localhost and literal IP addresses (which no DNS answer can stand for) may name
 * this server.
 */
import { isIP } from 'node:net';

export function hostAllowed(hostHeader: string | undefined, publicUrl: string | undefined): boolean {
  if (!hostHeader) return false;
  let hostname: string;
  try {
    hostname = new URL(`http://${hostHeader}`).hostname.toLowerCase();
  } catch {
    return false;
  }
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (isIP(bare) !== 0) return true;
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  return publicUrl !== undefined && new URL(publicUrl).hostname.toLowerCase() === bare;
}
