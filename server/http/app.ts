/**
 * The one HTTP server: the built site, a small API, and the terminal WebSocket.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sirv from 'sirv';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Course } from '../../lessons/schema.ts';
import type { Logger } from '../log.ts';
import type { SandboxDriver } from '../sandbox/driver.ts';
import type { SessionManager } from '../sessions/session-manager.ts';
import type { ProgressStore } from '../store/progress-store.ts';
import { bridgeTerminal } from '../terminal/bridge.ts';
import { ShellRegistry } from '../terminal/live-shell.ts';
import { closeCodes, maxInputFrameBytes, parseTerminalQuery, terminalPath, type ServerMessage } from '../../protocol/terminal.ts';
import { hostAllowed } from './host.ts';
import { learnerCookies } from './learner-cookie.ts';
import { originAllowed } from './origin.ts';
import { setSecurityHeaders } from './security-headers.ts';
import { createPortProxy } from '../ports/port-proxy.ts';
import { createPortsServer } from '../ports/ports-server.ts';
import { createPortOpener } from '../ports/port-links.ts';
import { portPasses } from '../ports/port-pass.ts';
import { parseOpenPortPath } from '../ports/port-routes.ts';
import { teacherAuth } from '../workshops/teacher-key.ts';
import { workshopRoutes } from '../workshops/routes.ts';
import type { Workshops } from '../workshops/workshops.ts';
import { watchTerminal, watchPath } from '../workshops/watch.ts';
import { fileRoutes } from '../files/routes.ts';
import type { Metrics } from '../ops/metrics.ts';

export interface AppOptions {
  siteDir: string;
  publicUrl?: string | undefined;
  /** Key that signs learner cookies (SLIPWAY_SECRET, or one kept in the state folder). */
  secret: string | Buffer;
  /** The teacher key (SLIPWAY_TEACHER_KEY, or teacher.key in the state folder). */
  teacherKey: string;
  course: Course;
  store: ProgressStore;
  /** Classroom workshops; without them, the workshop routes answer 404. */
  workshops?: Workshops | undefined;
  /** Prometheus metrics, served at /metrics to the teacher key's bearer; without them, 404. */
  metrics?: Metrics | undefined;
  driver: SandboxDriver;
  sessions: SessionManager;
  checkTimeoutMs: number;
  log: Logger;
  /** How often sockets are pinged; one missed answer ends the socket. */
  heartbeatMs?: number;
  /** How long a shell whose socket closed waits to be resumed. */
  resumeGraceMs?: number;
  /** Most terminal sockets one learner may hold; an address may hold this many per sandbox it may have. */
  socketsPerLearner?: number;
  socketsPerAddress?: number;
  /**
   * The ports origin as learners reach it (SLIPWAY_PORTS_URL), when Slipway is behind a proxy;
   * by default the host name the learner used, on the ports listener's own port.
   */
  portsUrl?: string | undefined;
  /** Requests and WebSockets one session may have open through the port proxy (default 64). */
  portConnectionsPerSession?: number | undefined;
}

/**
 * The client's address: the peer's, or behind the proxy that SLIPWAY_PUBLIC_URL says there is,
 * the address that proxy appended last to X-Forwarded-For (anything before it the client wrote).
 */
export function clientAddress(request: http.IncomingMessage, behindProxy: boolean): string {
  const forwarded = request.headers['x-forwarded-for'];
  if (behindProxy && typeof forwarded === 'string') {
    const last = forwarded.split(',').at(-1)?.trim();
    if (last) return last;
  }
  return request.socket.remoteAddress ?? 'unknown';
}

/** Open sockets per key (a learner, an address), with a ceiling. */
class SocketCounter {
  readonly #counts = new Map<string, number>();
  readonly limit: number;
  constructor(limit: number) {
    this.limit = limit;
  }
  tryOpen(key: string): boolean {
    const count = this.#counts.get(key) ?? 0;
    if (count >= this.limit) return false;
    this.#counts.set(key, count + 1);
    return true;
  }
  close(key: string): void {
    const count = (this.#counts.get(key) ?? 1) - 1;
    if (count <= 0) this.#counts.delete(key);
    else this.#counts.set(key, count);
  }
}

export interface App {
  server: http.Server;
  /** The ports origin's own server: learners' published ports, proxied (server/ports/). */
  portsServer: http.Server;
  listen(port: number, host: string): Promise<string>;
  /** Listens for the ports origin; resolves with its URL. */
  listenPorts(port: number, host: string): Promise<string>;
  close(): Promise<void>;
}

/** Whether a Range header names at least one range that sirv can serve without throwing. */
export function satisfiableRange(header: string): boolean {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return false;
  const [, start, end] = match;
  if (start === '' && end === '') return false;
  if (start === '' || end === '') return true;
  return Number(start) <= Number(end);
}

export function createApp(options: AppOptions): App {
  const { log } = options;
  const serveStatic = sirv(options.siteDir, { etag: true, dev: false, extensions: ['html'] });
  const cookies = learnerCookies(options.secret);
  const secureCookies = options.publicUrl?.startsWith('https:') ?? false;
  const plain = (response: http.ServerResponse, status: number, text: string) => {
    response.statusCode = status;
    response.setHeader('Content-Type', 'text/plain; charset=utf-8');
    response.end(`${text}\n`);
  };
  const passes = portPasses(options.secret);
  let portsPort = 0;
  const ports = createPortOpener({
    passes,
    portsUrl: options.portsUrl,
    portsPort: () => portsPort,
    learner: (request) => cookies.read(request),
    ownerOf: (sessionId) => options.sessions.ownerOf(sessionId),
    log,
  });
  const teacher = teacherAuth(options.teacherKey);
  let closing = false;
  const workshopRoute = options.workshops
    ? workshopRoutes({ workshops: options.workshops, teacher, cookies, publicUrl: options.publicUrl, log })
    : () => false;
  const fileRoute = fileRoutes({ driver: options.driver, sessions: options.sessions, cookies, publicUrl: options.publicUrl, log });
  const handle = (request: http.IncomingMessage, response: http.ServerResponse) => {
    setSecurityHeaders(response);
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (workshopRoute(request, response, url)) return;
    if (fileRoute(request, response, url)) return;
    const portTarget = url.pathname.startsWith('/ports/') ? parseOpenPortPath(url.pathname) : undefined;
    if (portTarget && request.method === 'GET') {
      if (!hostAllowed(request.headers.host, options.publicUrl)) return plain(response, 403, 'Forbidden: unknown host name');
      return ports.open(request, response, portTarget);
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return plain(response, 405, 'Method not allowed');
    }
    if (url.pathname === '/healthz') {
      // The process answers: for a supervisor or a load balancer's liveness probe.
      response.setHeader('Cache-Control', 'no-store');
      return plain(response, 200, 'ok');
    }
    if (url.pathname === '/readyz') {
      // Ready to take learners: the engine and the shared services answer, the disk has room.
      response.setHeader('Cache-Control', 'no-store');
      if (closing) return plain(response, 503, 'not ready: the server is stopping');
      options.driver.notReady().then(
        (reason) => (reason ? plain(response, 503, `not ready: ${reason}`) : plain(response, 200, 'ready')),
        (error: unknown) => plain(response, 503, `not ready: ${(error as Error).message}`),
      );
      return;
    }
    if (url.pathname === '/metrics') {
      if (!options.metrics) return plain(response, 404, 'Not found');
      if (!teacher.isTeacher(request)) {
        response.setHeader('WWW-Authenticate', 'Bearer realm="slipway metrics"');
        return plain(response, 401, 'Metrics need the teacher key: Authorization: Bearer <key>.');
      }
      const registry = options.metrics.registry;
      registry.metrics().then(
        (text) => {
          response.setHeader('Content-Type', registry.contentType);
          response.setHeader('Cache-Control', 'no-store');
          response.end(text);
        },
        (error: unknown) => {
          log.error('metrics failed', { error });
          plain(response, 500, 'Metrics could not be collected.');
        },
      );
      return;
    }
    if (url.pathname === '/api/health') {
      // Says the server answers; how busy it is stays for the operator's logs.
      response.setHeader('Content-Type', 'application/json');
      response.setHeader('Cache-Control', 'no-store');
      response.end('{"ok":true}');
      return;
    }
    if (url.pathname === '/api/progress') {
      if (!hostAllowed(request.headers.host, options.publicUrl)) return plain(response, 403, 'Forbidden: unknown host name');
      // The learner's done steps by lesson, for the course index; nothing for a stranger.
      const learnerId = cookies.read(request);
      response.setHeader('Content-Type', 'application/json');
      response.setHeader('Cache-Control', 'no-store');
      if (!learnerId) return void response.end('{"lessons":{}}');
      options.store.allDone(learnerId).then(
        (lessons) => response.end(JSON.stringify({ lessons })),
        (error: unknown) => {
          log.error('reading progress failed', { error });
          response.statusCode = 500;
          response.end('{"error":"progress could not be read"}');
        },
      );
      return;
    }
    cookies.ensure(request, response, { secure: secureCookies });
    // sirv throws on a range it cannot satisfy (`bytes=2-1`); such a header is ignored, as
    // RFC 9110 allows, and the whole file is served.
    if (request.headers.range !== undefined && !satisfiableRange(request.headers.range)) delete request.headers.range;
    serveStatic(request, response, () => plain(response, 404, 'Not found'));
  };
  const server = http.createServer((request, response) => {
    // One request's bug answers 500 to that request; it never ends the process.
    request.on('error', (error) => log.info('request stream failed', { error }));
    response.on('error', (error) => log.info('response stream failed', { error }));
    try {
      handle(request, response);
    } catch (error) {
      log.error('request failed', { error, method: request.method, url: request.url?.slice(0, 200) });
      if (response.headersSent) response.destroy();
      else plain(response, 500, 'Internal server error');
    }
  });

  const portProxy = createPortProxy({
    driver: options.driver,
    ownerOf: (sessionId) => options.sessions.ownerOf(sessionId),
    passes,
    clientAddress: (request) => clientAddress(request, options.publicUrl !== undefined),
    https: options.portsUrl?.startsWith('https:') ?? false,
    hostAllowed: (host) => hostAllowed(host, options.portsUrl ?? options.publicUrl),
    connectionsPerSession: options.portConnectionsPerSession,
    log,
  });
  const portsServer = createPortsServer(portProxy, log);

  const shells = new ShellRegistry();
  const perLearner = new SocketCounter(options.socketsPerLearner ?? 8);
  const perAddress = new SocketCounter(options.socketsPerAddress ?? 40);
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxInputFrameBytes + 1024 });
  // Heartbeat: a socket that has not answered the previous ping is dead (a laptop that went
  // to sleep, a dropped Wi-Fi); ending it ends its shell and lets the sandbox go idle. The
  // pings also keep proxies from closing quiet terminals.
  const alive = new WeakSet<WebSocket>();
  const heartbeat = setInterval(() => {
    for (const client of wss.clients) {
      if (!alive.has(client)) {
        client.terminate();
        continue;
      }
      alive.delete(client);
      client.ping();
    }
  }, options.heartbeatMs ?? 30_000);
  heartbeat.unref();
  wss.on('error', (error) => log.error('websocket server failed', { error }));
  server.on('upgrade', (request, socket, head) => {
    // A peer that resets the connection mid-handshake must not end the process.
    socket.on('error', (error) => log.info('upgrade socket failed', { error }));
    const url = new URL(request.url ?? '/', 'http://localhost');
    const refuse = (status: number, reason: string) => {
      log.info('websocket refused', { status, reason });
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (url.pathname !== terminalPath && url.pathname !== watchPath) return refuse(404, 'Not Found');
    if (!hostAllowed(request.headers.host, options.publicUrl)) return refuse(403, 'Forbidden');
    if (!originAllowed(request, options.publicUrl)) return refuse(403, 'Forbidden');
    if (url.pathname === watchPath) {
      // A teacher watching a learner's terminal, read-only.
      if (!teacher.isTeacher(request)) return refuse(401, 'Unauthorized');
      wss.handleUpgrade(request, socket, head, (ws) => {
        options.metrics?.websockets.inc({ kind: 'watch' });
        ws.on('close', () => options.metrics?.websockets.dec({ kind: 'watch' }));
        ws.on('error', (error) => log.info('watch socket error', { error }));
        alive.add(ws);
        ws.on('pong', () => alive.add(ws));
        watchTerminal(ws, url.searchParams, { shells, log });
      });
      return;
    }
    const learnerId = cookies.read(request);
    if (!learnerId) return refuse(401, 'Unauthorized');
    // A workshop seat: a classroom behind one NAT address is not one learner.
    const seat = options.workshops?.seatOf(learnerId) !== undefined;
    const address = seat ? `seat:${learnerId}` : clientAddress(request, options.publicUrl !== undefined);
    if (!perLearner.tryOpen(learnerId)) return refuse(429, 'Too Many Requests');
    if (!perAddress.tryOpen(address)) {
      perLearner.close(learnerId);
      return refuse(429, 'Too Many Requests');
    }
    let counted = true;
    const uncount = () => {
      if (!counted) return;
      counted = false;
      perLearner.close(learnerId);
      perAddress.close(address);
    };
    socket.once('close', uncount);
    const query = parseTerminalQuery(url.searchParams);
    wss.handleUpgrade(request, socket, head, (ws) => {
      // ws reports a bad frame (too large, invalid UTF-8, a reserved opcode) as an 'error'
      // and then closes the socket; without a listener that error would end the process.
      ws.on('error', (error) => log.info('terminal socket error', { error, learner: learnerId.slice(0, 8) }));
      options.metrics?.websockets.inc({ kind: 'terminal' });
      ws.on('close', () => options.metrics?.websockets.dec({ kind: 'terminal' }));
      alive.add(ws);
      ws.on('pong', () => alive.add(ws));
      if (!query.ok) {
        // Refused the way a bad control frame is: an error frame the page can show.
        const refusal: ServerMessage = { type: 'error', code: 'BAD_MESSAGE', message: query.error, fatal: true };
        ws.send(JSON.stringify(refusal));
        ws.close(closeCodes.refused, 'BAD_MESSAGE');
        return;
      }
      const { lesson, node, cols, rows, resume, offset } = query.message;
      bridgeTerminal(
        ws,
        { learnerId, address, seat, lesson, node, cols, rows, resume: resume ? { shellId: resume, offset: offset ?? 0 } : undefined },
        {
          sessions: options.sessions,
          driver: options.driver,
          course: options.course,
          store: options.store,
          shells,
          resumeGraceMs: options.resumeGraceMs ?? 120_000,
          checkTimeoutMs: options.checkTimeoutMs,
          ports: ports.linksFor(request.headers.host),
          workshops: options.workshops,
          metrics: options.metrics,
          log,
        },
      );
    });
  });

  return {
    server,
    portsServer,
    listenPorts: (port, host) =>
      new Promise((resolve, reject) => {
        portsServer.once('error', reject);
        portsServer.listen(port, host, () => {
          portsPort = (portsServer.address() as AddressInfo).port;
          const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
          resolve(options.portsUrl ?? `http://${shownHost}:${portsPort}/`);
        });
      }),
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const address = server.address() as AddressInfo;
          const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
          resolve(`http://${shownHost}:${address.port}/`);
        });
      }),
    close: async () => {
      closing = true;
      clearInterval(heartbeat);
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      portProxy.close();
      if (portsServer.listening) {
        portsServer.closeAllConnections();
        await new Promise<void>((resolve) => portsServer.close(() => resolve()));
      }
    },
  };
}
