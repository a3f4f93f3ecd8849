/**
 * Passes to a session's proxied ports, signed by the server: an owner pass (the learner who
 * owns the session, for all its nodes and ports; checked again against the session's owner on
 * every request) or a share pass (one node's one port, for anyone holding the link, until it
 * expires). A pass travels once in a URL, from Slipway's own origin to the ports origin, which
 * trades it for a cookie of its own (port-proxy.ts).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface PortPass {
  kind: 'owner' | 'share';
  session: string;
  /** The owner pass's learner. */
  learner?: string | undefined;
  /** The share pass's node and port. */
  node?: string | undefined;
  port?: number | undefined;
  /** Milliseconds since 1970. */
  expires: number;
}

/** How long each kind lasts: the hop in a URL, the owner's cookie, a shared link. */
export const passLifetimes = { hop: 60_000, owner: 12 * 3600_000, share: 3600_000 } as const;

const fields = /^(owner|share)\.([0-9a-f]{12})\.([A-Za-z0-9_-]{0,22})\.(node[1-9]|)\.(\d{0,5})\.(\d{1,15})$/;

export interface PortPasses {
  sign(pass: PortPass): string;
  /** The pass a token carries, if this server signed it and it has not expired. */
  verify(token: string, now?: number): PortPass | undefined;
}

export function portPasses(secret: string | Buffer): PortPasses {
  // A key of its own, so that nothing signed for one purpose (a learner cookie) passes for another.
  const key = createHmac('sha256', secret).update('slipway port passes').digest();
  const mac = (body: string) => createHmac('sha256', key).update(body).digest('base64url');
  return {
    sign(pass) {
      const body = [pass.kind, pass.session, pass.learner ?? '', pass.node ?? '', pass.port ?? '', Math.floor(pass.expires)].join('.');
      return `${body}.${mac(body)}`;
    },
    verify(token, now = Date.now()) {
      const cut = token.lastIndexOf('.');
      if (cut < 0 || token.length > 200) return undefined;
      const body = token.slice(0, cut);
      const given = Buffer.from(token.slice(cut + 1));
      const expected = Buffer.from(mac(body));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      const match = fields.exec(body);
      if (!match) return undefined;
      const [, kind, session = '', learner, node, port, expires] = match;
      const pass: PortPass = {
        kind: kind as PortPass['kind'],
        session,
        learner: learner || undefined,
        node: node || undefined,
        port: port ? Number(port) : undefined,
        expires: Number(expires),
      };
      return pass.expires > now ? pass : undefined;
    },
  };
}
