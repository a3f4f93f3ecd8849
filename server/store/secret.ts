/**
 * The key that signs learner cookies, kept in the state folder so that a restart does not log
 * every learner out. Created on first start, readable by this user only.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export async function loadOrCreateSecret(stateDir: string): Promise<Buffer> {
  const file = path.join(stateDir, 'secret.key');
  const existing = await readFile(file).catch(() => undefined);
  if (existing && existing.length >= 32) return existing;
  await mkdir(stateDir, { recursive: true });
  const secret = randomBytes(32);
  // 'wx': two servers starting at once must not overwrite each other's key.
  await writeFile(file, secret, { mode: 0o600, flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  return readFile(file);
}
