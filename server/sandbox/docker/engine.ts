/**
 * Connecting to the Docker engine, and turning its failures into errors a person can act on.
 */
import Docker from 'dockerode';
import { SlipwayError } from '../../errors.ts';

export type { default as Docker } from 'dockerode';

export function connectEngine(): Docker {
  // dockerode reads DOCKER_HOST (and DOCKER_TLS_VERIFY/DOCKER_CERT_PATH) like the docker CLI.
  return new Docker();
}

const unreachableCodes = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);

/** Whether an error means the engine itself could not be reached (as opposed to a refused request). */
export function isEngineUnreachable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && unreachableCodes.has(code);
}

export function engineUnavailable(error: unknown): SlipwayError {
  const code = (error as { code?: unknown } | null)?.code;
  const hint =
    code === 'EACCES'
      ? 'permission to the Docker socket was denied; run Slipway as root or as a member of the docker group'
      : 'is dockerd running?';
  return new SlipwayError('ENGINE_UNAVAILABLE', `The Docker engine cannot be reached (${hint}).`, { cause: error });
}

/** HTTP status of a failed engine request, if it was one. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Runs a removal and treats "already gone" (404) and "already being removed" (409) as success. */
export async function idempotent(action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (error) {
    const status = statusOf(error);
    if (status === 404 || status === 409) return;
    if (status === 304) return; // already stopped
    throw error;
  }
}

/** Waits for a progress stream (build, push, import) and fails with the engine's own message. */
export function followStream(docker: Docker, stream: NodeJS.ReadableStream, onLine?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, output: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
        if (error) return reject(error);
        const failed = output.find((item) => item.error || item.errorDetail);
        if (failed) return reject(new Error(failed.errorDetail?.message ?? failed.error ?? 'failed'));
        resolve();
      },
      (event: { stream?: string; status?: string; error?: string }) => {
        const text = event.stream ?? event.status ?? event.error;
        if (text && onLine) onLine(text.trimEnd());
      },
    );
  });
}
