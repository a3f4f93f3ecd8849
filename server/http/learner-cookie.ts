/**
 * The learner id: a random token in a cookie, so a reload finds the same sandbox. The cookie
 * carries the id and an HMAC of it under the server's secret, so only ids this server issued
 * are accepted: a script cannot make up ids to take sandboxes (it has to fetch a page for each,
 * and per-address limits apply to those).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const learnerCookie = 'slipway_learner';
const idPattern = /^[A-Za-z0-9_-]{22}$/;
const signatureLength = 22;

export interface LearnerCookies {
  /** The learner id in the request's cookie, if it is well formed and this server signed it. */
  read(request: IncomingMessage): string | undefined;
  /** Gives the browser a signed learner id if it has none; returns the id either way. */
  ensure(request: IncomingMessage, response: ServerResponse, options?: { secure?: boolean }): string;
  /** The cookie value for an id (id.signature). */
  value(id: string): string;
}

export function learnerCookies(secret: string | Buffer): LearnerCookies {
  const sign = (id: string) => createHmac('sha256', secret).update(id).digest('base64url').slice(0, signatureLength);
  const read = (request: IncomingMessage): string | undefined => {
    for (const part of (request.headers.cookie ?? '').split(';')) {
      const [name, ...rest] = part.trim().split('=');
      if (name !== learnerCookie) continue;
      const [id = '', signature = '', ...extra] = rest.join('=').split('.');
      if (extra.length > 0 || !idPattern.test(id) || signature.length !== signatureLength) return undefined;
      return timingSafeEqual(Buffer.from(signature), Buffer.from(sign(id))) ? id : undefined;
    }
    return undefined;
  };
  return {
    read,
    value: (id) => `${id}.${sign(id)}`,
    ensure(request, response, options = {}) {
      const existing = read(request);
      if (existing) return existing;
      const id = randomBytes(16).toString('base64url');
      const secure = options.secure ? '; Secure' : '';
      response.setHeader('Set-Cookie', `${learnerCookie}=${id}.${sign(id)}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax${secure}`);
      return id;
    },
  };
}
