/**
 * Cross-site WebSocket hijacking guard: a browser always sends Origin, and it must be this
 * site's own (the Host the browser asked for, or the configured public URL).
 */
import type { IncomingMessage } from 'node:http';

export function originAllowed(request: IncomingMessage, publicUrl: string | undefined): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true; // not a browser; it could forge any header anyway
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (publicUrl && parsed.origin === new URL(publicUrl).origin) return true;
  return parsed.host === request.headers.host && (parsed.protocol === 'http:' || parsed.protocol === 'https:');
}
