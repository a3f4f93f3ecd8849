/**
 * The ports' side of Slipway's own origin: the links the page shows, the share links, and
 * `/ports/<session>/<node>/<port>/`, which checks the learner cookie against the session's
 * owner and sends the browser on to the ports origin with a pass (port-pass.ts).
 */
import type http from 'node:http';
import type { Logger } from '../log.ts';
import { passLifetimes, type PortPasses } from './port-pass.ts';
import { openPortPath, proxiedPrefix, type PortTarget } from './port-routes.ts';
import { passParameter, shareParameter } from './port-proxy.ts';

/** Where learners reach the ports, and the links to one port, for a request to Slipway's own origin. */
export interface PortLinks {
  /** The page's link for a port (on Slipway's origin; it checks the cookie and sends the browser on). */
  open(target: PortTarget): string;
  /** A link anyone may open for a while (passLifetimes.share). */
  share(target: PortTarget): { url: string; expires: number };
}

export interface PortLinkOptions {
  passes: PortPasses;
  /** SLIPWAY_PORTS_URL: the ports origin behind a proxy. */
  portsUrl: string | undefined;
  /** The ports listener's port (known once it listens). */
  portsPort(): number;
  /** The learner a request's cookie names, if valid. */
  learner(request: http.IncomingMessage): string | undefined;
  ownerOf(sessionId: string): string | undefined;
  log: Logger;
}

export interface PortOpener {
  /** The links for a browser that asked Slipway under `host`. */
  linksFor(host: string | undefined): PortLinks;
  /** Answers `/ports/<session>/<node>/<port>/` (the Host header already checked). */
  open(request: http.IncomingMessage, response: http.ServerResponse, target: PortTarget): void;
}

export function createPortOpener(options: PortLinkOptions): PortOpener {
  const { passes, log } = options;
  /** The ports origin: SLIPWAY_PORTS_URL, or the host name the browser used on the ports listener's port. */
  const portsBase = (host: string | undefined): string => {
    if (options.portsUrl) return options.portsUrl.replace(/\/+$/, '');
    return `http://${new URL(`http://${host ?? 'localhost'}`).hostname}:${options.portsPort()}`;
  };
  return {
    linksFor: (host) => ({
      open: openPortPath,
      share: (target) => {
        const expires = Date.now() + passLifetimes.share;
        const token = passes.sign({ kind: 'share', session: target.session, node: target.node, port: target.port, expires });
        return { url: `${portsBase(host)}${proxiedPrefix(target)}/?${shareParameter}=${token}`, expires };
      },
    }),
    open(request, response, target) {
      const learnerId = options.learner(request);
      response.setHeader('Cache-Control', 'no-store');
      if (!learnerId || options.ownerOf(target.session) !== learnerId) {
        log.info('port link refused', { session: target.session });
        response.statusCode = 403;
        response.setHeader('Content-Type', 'text/plain; charset=utf-8');
        response.end('This port belongs to a sandbox that is not yours (or that has ended). Open ports from your own lesson page.\n');
        return;
      }
      const pass = passes.sign({ kind: 'owner', session: target.session, learner: learnerId, expires: Date.now() + passLifetimes.hop });
      response.statusCode = 303;
      response.setHeader('Location', `${portsBase(request.headers.host)}${proxiedPrefix(target)}/?${passParameter}=${pass}`);
      response.end();
    },
  };
}
