/**
 * `node server/supervisor.ts` (what `npm start` runs): the server (server/cli.ts) under a
 * supervisor that restarts it if it dies. Ctrl-C stops both.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from './log.ts';
import { supervise } from './supervise.ts';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cli.ts');
const supervisor = supervise({ command: process.execPath, args: [cli], log: createLogger('info', { component: 'supervisor' }) });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => supervisor.stop(signal));
process.exitCode = await supervisor.done;
