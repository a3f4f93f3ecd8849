/** Errors that cross module boundaries carry a stable code and a sentence for the learner. */
import type { ErrorCode } from '../protocol/terminal.ts';

export class SlipwayError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SlipwayError';
    this.code = code;
  }
}

export function toSlipwayError(error: unknown): SlipwayError {
  if (error instanceof SlipwayError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SlipwayError('INTERNAL', `Something went wrong on the server: ${message}`, { cause: error });
}
