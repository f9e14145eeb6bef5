// The agent's /metrics text: one sample per label set, label values escaped, process memory read when scraped.
import { describe, expect, it } from "vitest";
import { createAgentMetrics } from "./metrics.js";

describe("agent metrics", () => {
  it("counts per label set and renders the Prometheus text format", () => {
    const m = createAgentMetrics();
    m.heartbeats.inc({ result: "ok" });
    m.heartbeats.inc({ result: "ok" });
    m.heartbeats.inc({ result: "failed" });
    m.actions.inc({ type: 'we"ird\\type\n', result: "failed" });
    m.lastReport.set(1_700_000_000);
    const text = m.registry.metrics();
    expect(text).toContain("# TYPE spotopt_agent_heartbeats_total counter\n");
    expect(text).toContain('spotopt_agent_heartbeats_total{result="ok"} 2\n');
    expect(text).toContain('spotopt_agent_heartbeats_total{result="failed"} 1\n');
    expect(text).toContain('spotopt_agent_actions_total{result="failed",type="we\\"ird\\\\type\\n"} 1\n');
    expect(text).toContain("spotopt_agent_last_report_timestamp_seconds 1700000000\n");
    const rss = Number(/^spotopt_agent_process_resident_memory_bytes (\d+)$/m.exec(text)?.[1]);
    expect(rss).toBeGreaterThan(0);
    expect(m.registry.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});
