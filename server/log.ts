/**
 * Structured logs: one JSON object a line on stderr. Child loggers carry fields such as the
 * session id onto every line they write.
 */
type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(
  minLevel: Level | 'silent' = 'info',
  base: Record<string, unknown> = {},
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
): Logger {
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (minLevel === 'silent' || order[level] < order[minLevel]) return;
    const extra: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields ?? {})) {
      extra[key] = value instanceof Error ? { message: value.message, code: (value as { code?: unknown }).code } : value;
    }
    write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...extra }));
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => createLogger(minLevel, { ...base, ...fields }, write),
  };
}
