/**
 * What the port proxy changes on the way through. Towards the app: Slipway's own cookies are
 * taken out, hop-by-hop headers dropped, and X-Forwarded-* say where the app really is (an app
 * that honours X-Forwarded-Prefix, as Werkzeug's ProxyFix does, builds correct links itself).
 * Back from the app: redirects to the app's own paths are put under the port's prefix, and its
 * cookies are kept to that prefix and can never be Slipway's.
 */
import type { IncomingHttpHeaders } from 'node:http';

const hopByHop = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** Cookies whose names start with this are Slipway's (the learner cookie, port passes) and never reach an app. */
export const slipwayCookiePrefix = 'slipway_';

export interface ForwardContext {
  /** `/p/<session>/<node>/<port>`. */
  prefix: string;
  /** `http` or `https`, as the browser sees the ports origin. */
  proto: 'http' | 'https';
  /** The client's address as the server determined it. */
  clientAddress: string;
  /** Keep Upgrade and Connection (a WebSocket handshake). */
  upgrade?: boolean;
}

/** The Cookie header without Slipway's cookies; undefined when nothing is left. */
export function stripSlipwayCookies(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const kept = header
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '' && !part.toLowerCase().startsWith(slipwayCookiePrefix));
  return kept.length > 0 ? kept.join('; ') : undefined;
}

/** The headers sent on to the app. */
export function forwardHeaders(headers: IncomingHttpHeaders, context: ForwardContext): Record<string, string | string[]> {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (name === 'cookie' || name.startsWith('x-forwarded-')) continue;
    if (!(context.upgrade && (name === 'upgrade' || name === 'connection')) && (hopByHop.has(name) || named.has(name))) continue;
    out[name] = value;
  }
  const cookie = stripSlipwayCookies(headers.cookie);
  if (cookie) out.cookie = cookie;
  // What the client wrote in X-Forwarded-* is dropped above: these are the server's own findings.
  out['x-forwarded-for'] = context.clientAddress;
  if (headers.host) out['x-forwarded-host'] = headers.host;
  out['x-forwarded-proto'] = context.proto;
  out['x-forwarded-prefix'] = context.prefix;
  return out;
}

export interface LocationContext {
  prefix: string;
  /** The Host the browser asked for (an app that builds absolute URLs from Host uses it). */
  host: string | undefined;
  /** The port as the app sees it on the node (an app that names its own address uses it). */
  port: number;
  /** The node's address. */
  address: string;
}

/**
 * A redirect's Location as the browser must see it: the app's own paths under the prefix;
 * relative references (already under it) and other sites' URLs unchanged.
 */
export function rewriteLocation(location: string, context: LocationContext): string {
  const underPrefix = (path: string) => (path === context.prefix || path.startsWith(`${context.prefix}/`) ? path : `${context.prefix}${path}`);
  if (location.startsWith('/') && !location.startsWith('//')) return underPrefix(location);
  let url: URL;
  try {
    url = new URL(location.startsWith('//') ? `http:${location}` : location);
  } catch {
    return location;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return location;
  const own = new Set([context.host?.toLowerCase(), `${context.address}:${context.port}`, `localhost:${context.port}`, `127.0.0.1:${context.port}`]);
  if (!own.has(url.host.toLowerCase())) return location;
  return underPrefix(url.pathname) + url.search + url.hash;
}

/**
 * The app's Set-Cookie values as the browser may get them: none named like Slipway's, no
 * Domain (host-only), and a Path inside the port's prefix.
 */
export function rewriteSetCookies(values: readonly string[], prefix: string): string[] {
  const out: string[] = [];
  for (const value of values) {
    const [pair = '', ...attributes] = value.split(';');
    const name = pair.split('=')[0]?.trim().toLowerCase() ?? '';
    if (name === '' || name.startsWith(slipwayCookiePrefix)) continue;
    const kept = attributes
      .map((attribute) => attribute.trim())
      .filter((attribute) => attribute !== '' && !/^domain\s*=/i.test(attribute))
      .map((attribute) => {
        const path = /^path\s*=\s*(.*)$/i.exec(attribute);
        if (!path) return attribute;
        const given = path[1] ?? '';
        if (!given.startsWith('/')) return `Path=${prefix}/`;
        return `Path=${given === prefix || given.startsWith(`${prefix}/`) ? given : `${prefix}${given}`}`;
      });
    if (!kept.some((attribute) => /^path\s*=/i.test(attribute))) kept.push(`Path=${prefix}/`);
    out.push([pair.trim(), ...kept].join('; '));
  }
  return out;
}

/**
 * Response headers whose reach is the whole origin (or site), not the app's prefix: another
 * session's app on the same ports origin, and Slipway's cookies (cookies ignore ports), must not
 * be an app's to change. `Clear-Site-Data: "cookies"` would clear the visitor's learner cookie;
 * `Service-Worker-Allowed: /` would let one app's worker answer for every app; HSTS and Alt-Svc
 * are the operator's to set.
 */
export const originWideHeaders = new Set(['clear-site-data', 'service-worker-allowed', 'strict-transport-security', 'alt-svc']);

/** The app's response headers minus hop-by-hop and origin-wide ones, with Location and Set-Cookie rewritten. */
export function responseHeaders(headers: IncomingHttpHeaders, context: LocationContext): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || hopByHop.has(name) || originWideHeaders.has(name)) continue;
    if (name === 'location' && typeof value === 'string') out[name] = rewriteLocation(value, context);
    else if (name === 'set-cookie') out[name] = rewriteSetCookies(Array.isArray(value) ? value : [value], context.prefix);
    else out[name] = value;
  }
  return out;
}
