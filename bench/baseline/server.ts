/**
 * The bare baseline the browser benchmark compares Slipway with: one static page (xterm.js,
 * bundled here with esbuild), one `ws` server, and one `docker exec` TTY into a sandbox node,
 * piped together with nothing in between (no flow control, no replay, no checks, no
 * protocol). The node is one the benchmark started through Slipway's own driver, so the image,
 * the namespaces (`slipway-enter`) and the login shell are the learner's.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type Dockerode from 'dockerode';
import { build } from 'esbuild';
import { WebSocketServer } from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');

export interface Baseline {
  /** The page, on 127.0.0.1. */
  url: string;
  close(): Promise<void>;
}

async function bundleClient(): Promise<string> {
  const result = await build({
    entryPoints: [path.join(here, 'client.ts')],
    bundle: true,
    format: 'iife',
    target: 'es2022',
    minify: true,
    write: false,
    absWorkingDir: root,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/** Opens the learner's login shell in `container`, as server/sandbox/docker/exec.ts does. */
async function openShell(container: Dockerode.Container): Promise<{ stream: Duplex; exec: Dockerode.Exec }> {
  const exec = await container.exec({
    Cmd: ['/bin/sh', '-c', 'cd "$HOME"; exec /usr/local/bin/slipway-enter /bin/bash -l'],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: true,
    Env: ['TERM=xterm-256color', 'COLORTERM=truecolor', 'LANG=C.UTF-8'],
  });
  const stream = (await exec.start({ hijack: true, stdin: true, Tty: true })) as Duplex;
  return { stream, exec };
}

/** Serves the baseline page on 127.0.0.1 (a free port); each WebSocket gets a new shell in `container`. */
export async function startBaseline(container: Dockerode.Container): Promise<Baseline> {
  const [client, page, css] = await Promise.all([
    bundleClient(),
    readFile(path.join(here, 'page.html')),
    readFile(path.join(root, 'node_modules/@xterm/xterm/css/xterm.css')),
  ]);
  const files: Record<string, { type: string; body: string | Buffer }> = {
    '/': { type: 'text/html; charset=utf-8', body: page },
    '/client.js': { type: 'text/javascript; charset=utf-8', body: client },
    '/xterm.css': { type: 'text/css; charset=utf-8', body: css },
  };
  const server = http.createServer((request, response) => {
    const file = files[new URL(request.url ?? '/', 'http://localhost').pathname];
    if (!file) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  });
  const shells = new Set<Duplex>();
  const wss = new WebSocketServer({ server, path: '/pty' });
  wss.on('connection', (ws) => {
    ws.on('error', () => ws.terminate());
    let shell: { stream: Duplex; exec: Dockerode.Exec } | undefined;
    let size: { cols: number; rows: number } | undefined;
    const pending: Buffer[] = [];
    ws.on('message', (data, isBinary) => {
      const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (isBinary) {
        if (shell) shell.stream.write(buffer);
        else pending.push(buffer);
        return;
      }
      try {
        const { cols, rows } = JSON.parse(buffer.toString('utf8')) as { cols: number; rows: number };
        size = { cols, rows };
        shell?.exec.resize({ w: cols, h: rows }).catch(() => undefined);
      } catch {
        // Not a size; the page sends nothing else as text.
      }
    });
    openShell(container).then(
      async (opened) => {
        shell = opened;
        shells.add(opened.stream);
        opened.stream.on('error', () => ws.close());
        opened.stream.on('end', () => ws.close());
        opened.stream.on('data', (chunk: Buffer) => ws.send(chunk, { binary: true }));
        ws.on('close', () => {
          shells.delete(opened.stream);
          opened.stream.destroy();
        });
        if (size) await opened.exec.resize({ w: size.cols, h: size.rows }).catch(() => undefined);
        for (const buffer of pending.splice(0)) opened.stream.write(buffer);
      },
      () => ws.close(1011, 'exec failed'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: async () => {
      for (const stream of shells) stream.destroy();
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
