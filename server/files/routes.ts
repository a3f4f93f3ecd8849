/**
 * The editor panel's file API: a learner reads, lists and saves files in a node of their own
 * sandbox, through the sandbox driver (never their shell). The learner cookie names the
 * sandbox; nobody reaches another learner's. Writes are POSTs from this site only; a learner
 * has a few operations in flight at most, so a script cannot queue engine calls without end.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { ApiError } from '../../protocol/api-error.ts';
import type { Logger } from '../log.ts';
import { SlipwayError } from '../errors.ts';
import type { SandboxDriver } from '../sandbox/driver.ts';
import { FileError, maxFileBytes } from '../sandbox/docker/files.ts';
import type { SessionManager } from '../sessions/session-manager.ts';
import type { LearnerCookies } from '../http/learner-cookie.ts';
import { hostAllowed } from '../http/host.ts';
import { originAllowed } from '../http/origin.ts';
import { json, parse, readJson } from '../http/json.ts';

export const filesPath = '/api/files/';
/** File operations one learner may have in flight. */
const perLearner = 4;

const node = z.string().regex(/^node[1-9]$/, 'expected node1 ... node9');
const path = z.string().min(1).max(4096);
const readQuery = z.object({ node, path }).strict();
const writeBody = z.object({ node, path, content: z.string(), expected: z.string().max(64) }).strict();

const statusOf: Record<FileError['code'], number> = {
  NOT_FOUND: 404,
  NOT_A_FILE: 409,
  NOT_A_DIRECTORY: 409,
  TOO_LARGE: 413,
  BINARY: 415,
  CHANGED: 409,
  NO_SPACE: 507,
  DENIED: 403,
  BAD_PATH: 400,
  FAILED: 500,
};

export interface FileRoutesOptions {
  driver: SandboxDriver;
  sessions: SessionManager;
  cookies: LearnerCookies;
  publicUrl: string | undefined;
  log: Logger;
}

export function fileRoutes(options: FileRoutesOptions) {
  const { driver, sessions, cookies, log } = options;
  const inFlight = new Map<string, number>();

  const run = async (request: IncomingMessage, response: ServerResponse, action: string, url: URL) => {
    const learnerId = cookies.read(request);
    if (!learnerId) throw new ApiError(401, 'NO_LEARNER', 'Open a lesson first: your sandbox is made for the learner cookie it sets.');
    const session = sessions.sessionOf(learnerId);
    if (!session) throw new ApiError(409, 'NO_SANDBOX', 'You have no sandbox running: open a lesson and wait for its terminal.');
    const count = inFlight.get(learnerId) ?? 0;
    if (count >= perLearner) throw new ApiError(429, 'TOO_MANY', 'Too many file operations at once; wait for the last ones to finish.');
    inFlight.set(learnerId, count + 1);
    try {
      const method = request.method ?? 'GET';
      const nodeOf = (name: string) => {
        if (!session.nodes.includes(name)) throw new ApiError(404, 'NO_NODE', `Your sandbox has no ${name} yet.`);
        return name;
      };
      if (method === 'GET' && (action === 'read' || action === 'list')) {
        const query = parse(readQuery, Object.fromEntries(url.searchParams));
        const target = nodeOf(query.node);
        if (action === 'read') return json(response, 200, await driver.readFile(session.id, target, query.path));
        return json(response, 200, await driver.listDirectory(session.id, target, query.path));
      }
      if (method === 'POST' && action === 'write') {
        // The content is JSON-escaped: allow for that on top of the largest file.
        const body = parse(writeBody, await readJson(request, maxFileBytes * 2 + 16 * 1024));
        const target = nodeOf(body.node);
        sessions.markUsed(session);
        const saved = await driver.writeFile(session.id, target, body.path, body.content, body.expected);
        log.info('file saved from the editor', { session: session.id, node: target, bytes: Buffer.byteLength(body.content) });
        return json(response, 200, saved);
      }
      throw new ApiError(405, 'METHOD', 'No such file operation.');
    } finally {
      const left = (inFlight.get(learnerId) ?? 1) - 1;
      if (left <= 0) inFlight.delete(learnerId);
      else inFlight.set(learnerId, left);
    }
  };

  /** Handles the request if it is a file route; false otherwise. */
  return function handle(request: IncomingMessage, response: ServerResponse, url: URL): boolean {
    if (!url.pathname.startsWith(filesPath)) return false;
    const fail = (error: unknown) => {
      if (error instanceof ApiError) return json(response, error.status, { error: error.code, message: error.message });
      if (error instanceof FileError) return json(response, statusOf[error.code], { error: error.code, message: error.message });
      if (error instanceof SlipwayError && error.code !== 'INTERNAL') return json(response, error.code === 'SANDBOX_MISSING' ? 410 : 503, { error: error.code, message: error.message });
      log.error('file request failed', { error });
      if (!response.headersSent) json(response, 500, { error: 'INTERNAL', message: 'Something went wrong on the server.' });
      else response.destroy();
    };
    if (!hostAllowed(request.headers.host, options.publicUrl)) return (fail(new ApiError(403, 'FORBIDDEN', 'Unknown host name.')), true);
    if (request.method !== 'GET' && request.headers.origin !== undefined && !originAllowed(request, options.publicUrl)) {
      return (fail(new ApiError(403, 'FORBIDDEN', 'This request must come from this site.')), true);
    }
    run(request, response, url.pathname.slice(filesPath.length), url).catch(fail);
    return true;
  };
}
