// Aggregates repeated refusals in the audit chain: a flood of identical denied requests (or failed logins) of one
// actor writes one entry per window with a count instead of one entry per request, so it cannot grow the chain
// without bound, while the first refusal is still recorded at once.
import type { AuditInput } from "../../src-shared/audit/types.js";

interface OpenWindow {
  input: AuditInput;
  /** Refusals since the last entry written for this key. */
  count: number;
  firstAtMs: number;
  lastAtMs: number;
  timer: NodeJS.Timeout;
}

export interface RefusalAggregatorOptions {
  write: (input: AuditInput) => Promise<void>;
  windowMs: number;
  nowMs: () => number;
}

/** What makes two refusals identical: the chain, the actor and the event (the route template, not its ids). */
function keyOf(input: AuditInput): string {
  return [input.namespace, input.actor, input.event, input.outcome].join("\u0000");
}

export class RefusalAggregator {
  private readonly windows = new Map<string, OpenWindow>();

  constructor(private readonly options: RefusalAggregatorOptions) {}

  /** Writes the first refusal of a window at once; later identical ones are counted into the window's entry. */
  async record(input: AuditInput): Promise<void> {
    const key = keyOf(input);
    const open = this.windows.get(key);
    const now = this.options.nowMs();
    if (open) {
      open.count += 1;
      open.lastAtMs = now;
      return;
    }
    this.open(key, input, now);
    await this.options.write({ ...input, after: { ...asObject(input.after), count: 1 } });
  }

  /** Writes what every open window has counted (at shutdown). */
  async flush(): Promise<void> {
    const keys = [...this.windows.keys()];
    await Promise.all(keys.map((key) => this.close(key, false)));
  }

  private open(key: string, input: AuditInput, nowMs: number): void {
    const timer = setTimeout(() => {
      // A write that fails is reported by `write` itself; the count is then lost, never retried forever.
      this.close(key, true).catch(() => undefined);
    }, this.options.windowMs);
    timer.unref();
    this.windows.set(key, { input, count: 0, firstAtMs: nowMs, lastAtMs: nowMs, timer });
  }

  /** Ends a window: one entry with its count, and (while refusals continue) the next window starts with it. */
  private async close(key: string, reopen: boolean): Promise<void> {
    const window = this.windows.get(key);
    if (!window) return;
    clearTimeout(window.timer);
    this.windows.delete(key);
    if (window.count === 0) return;
    if (reopen) this.open(key, window.input, this.options.nowMs());
    await this.options.write({
      ...window.input,
      resource: window.input.event.split(" ").slice(1).join(" ") || window.input.resource,
      before: undefined,
      after: {
        count: window.count,
        aggregated: true,
        first_at: new Date(window.firstAtMs).toISOString(),
        last_at: new Date(window.lastAtMs).toISOString(),
      },
    });
  }
}

function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : value === undefined || value === null
      ? {}
      : { value };
}
