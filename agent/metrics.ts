// The agent's Prometheus metrics (served on /metrics), written in the text exposition format by hand: prom-client
// costs ≈ 5 MB of resident memory for four counters and a few process figures.

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels<L extends string> = Partial<Record<L, string>>;

interface Metric {
  /** The metric's lines: HELP, TYPE and one sample per label set. */
  render(): string;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function header(name: string, help: string, type: "counter" | "gauge"): string {
  return `# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}\n# TYPE ${name} ${type}\n`;
}

/** A monotonically increasing count per label set. */
export class Counter<L extends string = never> implements Metric {
  private readonly values = new Map<string, number>();

  constructor(
    private readonly name: string,
    private readonly help: string,
  ) {}

  inc(labels: Labels<L> = {}): void {
    const key = Object.entries(labels as Record<string, string>)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
      .join(",");
    this.values.set(key, (this.values.get(key) ?? 0) + 1);
  }

  render(): string {
    const lines = [...this.values].map(([key, value]) => `${this.name}${key ? `{${key}}` : ""} ${value}`);
    return header(this.name, this.help, "counter") + lines.map((l) => `${l}\n`).join("");
  }
}

/** A value that is set, or read when scraped. */
export class Gauge implements Metric {
  private value = 0;

  constructor(
    private readonly name: string,
    private readonly help: string,
    private readonly read?: () => number,
  ) {}

  set(value: number): void {
    this.value = value;
  }

  render(): string {
    return `${header(this.name, this.help, "gauge")}${this.name} ${this.read ? this.read() : this.value}\n`;
  }
}

export interface MetricsRegistry {
  contentType: string;
  metrics(): string;
}

export interface AgentMetrics {
  registry: MetricsRegistry;
  heartbeats: Counter<"result">;
  actions: Counter<"type" | "result">;
  interruptions: Counter<"kind">;
  lastReport: Gauge;
}

const PREFIX = "spotopt_agent_";
const START_SECONDS = Math.round(Date.now() / 1000 - process.uptime());

/** The process figures prom-client's default metrics name, for memory and CPU (what an operator watches here). */
function processMetrics(): Metric[] {
  const memory = (): NodeJS.MemoryUsage => process.memoryUsage();
  return [
    new Gauge(`${PREFIX}process_resident_memory_bytes`, "Resident memory size in bytes.", () =>
      process.memoryUsage.rss(),
    ),
    new Gauge(
      `${PREFIX}nodejs_heap_size_total_bytes`,
      "Process heap size from Node.js in bytes.",
      () => memory().heapTotal,
    ),
    new Gauge(
      `${PREFIX}nodejs_heap_size_used_bytes`,
      "Process heap size used from Node.js in bytes.",
      () => memory().heapUsed,
    ),
    new Gauge(
      `${PREFIX}nodejs_external_memory_bytes`,
      "Node.js external memory size in bytes.",
      () => memory().external,
    ),
    new Gauge(
      `${PREFIX}process_cpu_user_seconds_total`,
      "User CPU time spent in seconds.",
      () => process.cpuUsage().user / 1e6,
    ),
    new Gauge(
      `${PREFIX}process_cpu_system_seconds_total`,
      "System CPU time spent in seconds.",
      () => process.cpuUsage().system / 1e6,
    ),
    new Gauge(
      `${PREFIX}process_start_time_seconds`,
      "Start time of the process since unix epoch in seconds.",
      () => START_SECONDS,
    ),
  ];
}

export function createAgentMetrics(): AgentMetrics {
  const heartbeats = new Counter<"result">(`${PREFIX}heartbeats_total`, "Heartbeats sent, by result (ok, failed).");
  const actions = new Counter<"type" | "result">(
    `${PREFIX}actions_total`,
    "Actions executed, by type and result (succeeded, failed).",
  );
  const interruptions = new Counter<"kind">(
    `${PREFIX}interruptions_total`,
    "Interruption notices handled (node cordoned and drained), by kind.",
  );
  const lastReport = new Gauge(
    `${PREFIX}last_report_timestamp_seconds`,
    "Unix time of the last heartbeat the facade accepted.",
  );
  const all: Metric[] = [heartbeats, actions, interruptions, lastReport, ...processMetrics()];
  return {
    registry: { contentType: METRICS_CONTENT_TYPE, metrics: () => all.map((m) => m.render()).join("") },
    heartbeats,
    actions,
    interruptions,
    lastReport,
  };
}
