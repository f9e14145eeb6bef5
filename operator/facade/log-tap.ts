// This facade replica's own log lines, kept briefly and handed to WS /admin/logs: pino writes every line to stdout and
// to the tap, which keeps the last ones and tells the open streams.
import { pino } from "pino";

export interface LogRecord {
  timestamp: string;
  level: string;
  component: string;
  message: string;
}

/**
 * One pino JSON line as the dashboard shows it: the message, an error's message (no stack) and an access line's method,
 * path and status; no other field.
 */
export function logRecordOf(line: string): LogRecord | undefined {
  const o = parsedObject(line);
  if (!o) return undefined;
  const err = o.err as { message?: unknown } | undefined;
  const message = String(o.msg ?? "") + (typeof err?.message === "string" ? `: ${err.message}` : "") + request(o);
  return {
    timestamp: new Date(typeof o.time === "number" ? o.time : Date.now()).toISOString(),
    level: pino.levels.labels[Number(o.level)]?.toUpperCase() ?? String(o.level ?? ""),
    component: typeof o.component === "string" ? o.component : "facade",
    message,
  };
}

/** An access-log line's method, path (as the access log already sanitised it) and status. */
function request(o: Record<string, unknown>): string {
  const req = o.req as { method?: unknown; url?: unknown } | undefined;
  const res = o.res as { statusCode?: unknown } | undefined;
  if (typeof req?.method !== "string" || typeof req.url !== "string") return "";
  return ` ${req.method} ${req.url}${typeof res?.statusCode === "number" ? ` ${res.statusCode}` : ""}`;
}

function parsedObject(line: string): Record<string, unknown> | undefined {
  try {
    const o = JSON.parse(line) as unknown;
    return o !== null && typeof o === "object" && !Array.isArray(o) ? (o as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A pino destination (write) that keeps the last `keep` records and tells its subscribers of each new one. */
export class LogTap {
  private readonly recent: LogRecord[] = [];
  private readonly listeners = new Set<(record: LogRecord) => void>();

  constructor(private readonly keep = 100) {}

  write(chunk: string): void {
    for (const line of chunk.split("\n")) {
      const record = line.trim() ? logRecordOf(line) : undefined;
      if (!record) continue;
      this.recent.push(record);
      if (this.recent.length > this.keep) this.recent.shift();
      for (const listener of this.listeners)
        try {
          listener(record);
        } catch {
          // a stream that broke is its own business
        }
    }
  }

  recentRecords(): LogRecord[] {
    return [...this.recent];
  }

  subscribe(listener: (record: LogRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
