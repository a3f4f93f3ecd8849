/** The learner id: a random token in a cookie, so a reload finds the same sandbox. */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const learnerCookie = 'slipway_learner';
const validId = /^[A-Za-z0-9_-]{22}$/;

export function readLearnerId(request: IncomingMessage): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === learnerCookie) {
      const value = rest.join('=');
      return validId.test(value) ? value : undefined;
    }
  }
  return undefined;
}

/** Gives the browser a learner id if it has none; returns the id either way. */
export function ensureLearnerId(request: IncomingMessage, response: ServerResponse): string {
  const existing = readLearnerId(request);
  if (existing) return existing;
  const id = randomBytes(16).toString('base64url');
  response.setHeader('Set-Cookie', `${learnerCookie}=${id}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax`);
  return id;
}
