/**
 * The port proxy's own pages: plain text, nothing runs in them, nothing is cached, and each
 * says what happened and what to do.
 */
import type http from 'node:http';
import type { ProxiedPath } from './port-routes.ts';

/** One of the proxy's own pages (a refusal, a redirect, a closed port), with `extra` headers. */
export function ownPage(response: http.ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  response.statusCode = status;
  response.setHeader('Content-Type', 'text/plain; charset=utf-8');
  response.setHeader('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.setHeader('Cache-Control', 'no-store');
  response.setHeader('Referrer-Policy', 'no-referrer');
  for (const [name, value] of Object.entries(extra)) response.setHeader(name, value);
  response.end(`${text}\n`);
}

export const refusedText =
  'This port belongs to a sandbox that is not yours, or your pass for it has run out.\n\n' +
  "Open it from your own lesson page (the Ports row above the terminal), or ask the sandbox's owner for a share link.";

export function closedText(path: ProxiedPath, reason: string): string {
  return (
    `Nothing answers on port ${path.port} of ${path.node} (${reason}).\n\n` +
    `Is a container publishing port ${path.port} (docker ps shows it), and is the program in it listening on the container's port? ` +
    'A program that has just started may need a moment: reload this page.'
  );
}
