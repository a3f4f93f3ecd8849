/** The site's JSON API as the pages call it: JSON in and out, an error's code and sentence kept. */
import { ApiError } from '../../protocol/api-error.ts';

export { ApiError };

export async function api<T>(path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, body === undefined ? { credentials: 'same-origin' } : { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'NETWORK', 'The server could not be reached.');
  }
  const data = (await response.json().catch(() => ({}))) as { error?: string; message?: string };
  if (!response.ok) throw new ApiError(response.status, data.error ?? 'INTERNAL', data.message ?? `HTTP ${response.status}`);
  return data as T;
}

/** `{name}`-style placeholders filled in. */
export function fill(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (whole, key: string) => (key in values ? String(values[key]) : whole));
}
