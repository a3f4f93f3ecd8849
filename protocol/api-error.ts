/**
 * An HTTP API error with its status, a stable code and a sentence: thrown by the server's JSON
 * routes (answered as `{ error: code, message }`) and rebuilt from that answer by the pages.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}
