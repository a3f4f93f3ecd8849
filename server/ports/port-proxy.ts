/**
 * The ports origin: learners' published ports, proxied, under `/p/<session>/<node>/<port>/`.
 * It is an origin of its own (another port of this server, or SLIPWAY_PORTS_URL behind a proxy),
 * never Slipway's: a learner's app runs whatever script it likes, and in Slipway's origin that
 * script could open the viewer's terminal socket or read their pages (docs/security.md).
 *
 * Who may pass: whoever holds a pass (port-pass.ts) for the session, node and port: the owner,
 * sent here from Slipway's page with a pass in the URL that is traded for a cookie of this
 * origin, or someone with a share link. Plain Node http and net rather than a proxy library:
 * what this needs beyond piping (passes, Location and Set-Cookie rewriting, the pages for a
 * closed port) is most of the code either way, and it keeps the dependency list short.
 */
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.ts';
import type { SandboxDriver } from '../sandbox/driver.ts';
import { passLifetimes, type PortPass, type PortPasses } from './port-pass.ts';
import { parseProxiedPath, type ProxiedPath } from './port-routes.ts';
import { forwardHeaders, responseHeaders } from './rewrite.ts';
import { closedText, ownPage, refusedText } from './pages.ts';

/** The cookie that carries a pass on the ports origin (a name Slipway's rewriting keeps from apps). */
export const portPassCookie = 'slipway_port';
/** Query parameters that carry a pass into the ports origin once. */
export const passParameter = 'slipway-pass';
export const shareParameter = 'slipway-share';

export interface PortProxyOptions {
  driver: SandboxDriver;
  /** The learner owning a running session (SessionManager.ownerOf). */
  ownerOf(sessionId: string): string | undefined;
  passes: PortPasses;
  /** The client's address (behind a proxy: the one it appended). */
  clientAddress(request: http.IncomingMessage): string;
  /** Whether the browser reaches the ports origin over https (Secure cookies, X-Forwarded-Proto). */
  https: boolean;
  /** Whether a Host header names this origin (DNS rebinding guard, as for Slipway's own). */
  hostAllowed(host: string | undefined): boolean;
  log: Logger;
  /** Longest wait for the app's response headers (default 60 s). */
  responseTimeoutMs?: number;
  /** Requests and WebSockets one session may have open through the proxy at once (default 64). */
  connectionsPerSession?: number;
}

export interface PortProxy {
  handle(request: http.IncomingMessage, response: http.ServerResponse): void;
  upgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
}

function cookieValues(header: string | undefined, name: string): string[] {
  const values: string[] = [];
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) values.push(rest.join('='));
  }
  return values;
}

export function createPortProxy(options: PortProxyOptions): PortProxy {
  const { log, passes } = options;
  const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 4, timeout: 30_000 });
  /** Upgraded connections are the server's no longer: they are ended here on close. */
  const tunnels = new Set<Duplex>();
  /** Open requests and tunnels by session: one learner's app or script cannot hold all the server's sockets. */
  const open = new Map<string, number>();
  const connectionLimit = options.connectionsPerSession ?? 64;
  /** Counts a connection for a session; returns its release (safe to call twice), or undefined when the session is at its limit. */
  const take = (session: string): (() => void) | undefined => {
    const count = open.get(session) ?? 0;
    if (count >= connectionLimit) return undefined;
    open.set(session, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (open.get(session) ?? 1) - 1;
      if (left <= 0) open.delete(session);
      else open.set(session, left);
    };
  };
  const tooMany = (path: ProxiedPath) => {
    log.info('port proxy at its limit for a session', { session: path.session, limit: connectionLimit });
    return `This sandbox already has ${connectionLimit} requests open through Slipway, the most it may. Close some tabs of its apps and try again.`;
  };
  /** Node addresses for a few seconds, so that each request does not ask the engine. */
  const addresses = new Map<string, { address: string | undefined; at: number }>();
  const nodeAddress = async (session: string, node: string): Promise<string | undefined> => {
    const key = `${session}/${node}`;
    const cached = addresses.get(key);
    if (cached && Date.now() - cached.at < 5000) return cached.address;
    const address = await options.driver.nodeAddress(session, node);
    if (addresses.size > 1000) addresses.clear();
    addresses.set(key, { address, at: Date.now() });
    return address;
  };

  /** Whether a pass opens this session, node and port now. */
  const opens = (pass: PortPass | undefined, path: ProxiedPath): boolean => {
    if (!pass || pass.session !== path.session) return false;
    const owner = options.ownerOf(path.session);
    if (owner === undefined) return false;
    if (pass.kind === 'owner') return pass.learner === owner;
    return pass.node === path.node && pass.port === path.port;
  };
  const authorized = (request: http.IncomingMessage, path: ProxiedPath) =>
    cookieValues(request.headers.cookie, portPassCookie).some((token) => opens(passes.verify(token), path));

  const secure = options.https ? '; Secure' : '';
  /** Trades a pass from the URL for a cookie and sends the browser to the same URL without it. */
  const trade = (request: http.IncomingMessage, response: http.ServerResponse, url: URL, path: ProxiedPath): boolean => {
    const parameter = url.searchParams.has(passParameter) ? passParameter : url.searchParams.has(shareParameter) ? shareParameter : undefined;
    if (!parameter) return false;
    const pass = passes.verify(url.searchParams.get(parameter) ?? '');
    url.searchParams.delete(parameter);
    if (!opens(pass, path) || !pass) {
      ownPage(response, 403, refusedText);
      return true;
    }
    const now = Date.now();
    const cookie =
      pass.kind === 'owner'
        ? { value: passes.sign({ ...pass, expires: now + passLifetimes.owner }), path: `/p/${path.session}/`, expires: now + passLifetimes.owner }
        : { value: passes.sign(pass), path: `${path.prefix}/`, expires: pass.expires };
    const maxAge = Math.max(1, Math.floor((cookie.expires - now) / 1000));
    ownPage(response, 303, 'See Other', {
      'Set-Cookie': `${portPassCookie}=${cookie.value}; Path=${cookie.path}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure}`,
      Location: `${path.prefix}${path.rest ?? '/'}${url.search}`,
    });
    log.info('port pass traded for a cookie', { session: path.session, node: path.node, port: path.port, kind: pass.kind });
    return true;
  };

  /** For a stray absolute path of an app (`/static/app.css` from a page under a prefix): the prefix it came from. */
  const refererPrefix = (request: http.IncomingMessage): string | undefined => {
    const referer = request.headers.referer;
    if (!referer) return undefined;
    try {
      const from = new URL(referer);
      if (from.host !== request.headers.host) return undefined;
      return parseProxiedPath(from.pathname)?.prefix;
    } catch {
      return undefined;
    }
  };

  const handle = (request: http.IncomingMessage, response: http.ServerResponse): void => {
    if (!options.hostAllowed(request.headers.host)) return ownPage(response, 403, 'Forbidden: unknown host name');
    const url = new URL(request.url ?? '/', 'http://ports');
    const path = parseProxiedPath(url.pathname);
    if (!path) {
      const prefix = refererPrefix(request);
      if (prefix && (request.method === 'GET' || request.method === 'HEAD')) {
        return ownPage(response, 307, 'Temporary Redirect', { Location: `${prefix}${url.pathname}${url.search}` });
      }
      return ownPage(response, 404, "Not found. Slipway's proxied ports are under /p/<session>/<node>/<port>/: open one from a lesson page.");
    }
    if (path.rest === undefined) return ownPage(response, 308, 'Permanent Redirect', { Location: `${path.prefix}/${url.search}` });
    if (trade(request, response, url, path)) return;
    if (!authorized(request, path)) {
      log.info('port proxy refused', { session: path.session, node: path.node, port: path.port });
      return ownPage(response, 403, refusedText);
    }
    const release = take(path.session);
    if (!release) return ownPage(response, 429, tooMany(path));
    response.on('close', release);
    nodeAddress(path.session, path.node).then(
      (address) => {
        if (!address) return ownPage(response, 404, `${path.node} of this sandbox is not running.`);
        forward(request, response, url, path, address);
      },
      (error: unknown) => {
        log.warn('node address unknown', { error, session: path.session });
        ownPage(response, 503, 'The server cannot reach its Docker engine just now. Try again in a moment.');
      },
    );
  };

  const forward = (request: http.IncomingMessage, response: http.ServerResponse, url: URL, path: ProxiedPath, address: string) => {
    const headers = forwardHeaders(request.headers, { prefix: path.prefix, proto: options.https ? 'https' : 'http', clientAddress: options.clientAddress(request) });
    const upstream = http.request({ host: address, port: path.port, method: request.method, path: `${path.rest}${url.search}`, headers, agent });
    let answered = false;
    upstream.setTimeout(options.responseTimeoutMs ?? 60_000, () => upstream.destroy(new Error('timed out')));
    upstream.on('response', (answer) => {
      answered = true;
      answer.on('error', () => response.destroy());
      response.writeHead(
        answer.statusCode ?? 502,
        answer.statusMessage,
        responseHeaders(answer.headers, { prefix: path.prefix, host: request.headers.host, port: path.port, address }),
      );
      answer.pipe(response);
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (answered || response.headersSent) return void response.destroy();
      const reason =
        error.code === 'ECONNREFUSED'
          ? 'the port is not published'
          : error.message === 'timed out'
            ? 'no answer in time'
            : 'the connection was closed before an answer';
      ownPage(response, error.message === 'timed out' ? 504 : 502, closedText(path, reason));
    });
    // A browser that goes away ends the request to the app too.
    response.on('close', () => {
      if (!response.writableFinished) upstream.destroy();
    });
    request.pipe(upstream);
  };

  const upgrade = (request: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', (error) => log.info('port upgrade socket failed', { error }));
    const refuse = (status: number, reason: string): void => {
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (!options.hostAllowed(request.headers.host)) return refuse(403, 'Forbidden');
    const url = new URL(request.url ?? '/', 'http://ports');
    const path = parseProxiedPath(url.pathname);
    if (!path || path.rest === undefined) return refuse(404, 'Not Found');
    if (!authorized(request, path)) {
      log.info('port proxy refused a websocket', { session: path.session, node: path.node, port: path.port });
      return refuse(403, 'Forbidden');
    }
    const release = take(path.session);
    if (!release) {
      tooMany(path);
      return refuse(429, 'Too Many Requests');
    }
    socket.on('close', release);
    nodeAddress(path.session, path.node).then(
      (address) => {
        if (!address) return refuse(404, 'Not Found');
        const upstream = net.connect({ host: address, port: path.port });
        upstream.setTimeout(10_000, () => upstream.destroy(new Error('timed out')));
        upstream.on('error', () => {
          if (upstream.bytesRead === 0 && !socket.destroyed) refuse(502, 'Bad Gateway');
          else socket.destroy();
        });
        tunnels.add(socket);
        socket.on('close', () => {
          tunnels.delete(socket);
          upstream.destroy();
        });
        upstream.on('close', () => socket.destroy());
        upstream.on('connect', () => {
          const headers = forwardHeaders(request.headers, {
            prefix: path.prefix,
            proto: options.https ? 'https' : 'http',
            clientAddress: options.clientAddress(request),
            upgrade: true,
          });
          const lines = [`${request.method ?? 'GET'} ${path.rest}${url.search} HTTP/1.1`];
          for (const [name, value] of Object.entries(headers)) for (const item of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${item}`);
          upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
          if (head.length > 0) upstream.write(head);
          upstream.once('data', () => upstream.setTimeout(0));
          upstream.pipe(socket);
          socket.pipe(upstream);
        });
      },
      () => refuse(503, 'Service Unavailable'),
    );
  };

  return {
    handle,
    upgrade,
    close: () => {
      agent.destroy();
      for (const socket of tunnels) socket.destroy();
    },
  };
}
