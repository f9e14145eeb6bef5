// The agent's loops: heartbeat (jittered interval, backoff while the facade is down), poll -> execute -> result
// (at-least-once: an action is executed idempotently and its result re-posted until accepted, refused or its lease
// ends), and interruption handling (cordon + drain, reported in the next heartbeat).
import type { Logger } from "pino";
import type { PendingAction } from "../src-shared/agent/protocol.js";
import type { KubeClient } from "../src-shared/kube/client.js";
import { readCluster } from "./cluster-report.js";
import { execute } from "./executors/index.js";
import type { ExecOutcome } from "./executors/types.js";
import { FacadeError, type FacadeClient, type MalformedAction } from "./facade-client.js";
import { InterruptionTracker, noticesOnNode, type Notice } from "./interruptions.js";
import { cordonForNotice, releaseWithdrawn } from "./notice-cordon.js";
import type { V1Node } from "@kubernetes/client-node";
import type { AgentMetrics } from "./metrics.js";

export const AGENT_VERSION = "0.1.0";

export interface AgentOptions {
  client: KubeClient;
  facade: FacadeClient;
  heartbeatMs: number;
  pollMs: number;
  backoffMaxMs: number;
  maxConcurrentActions: number;
  interruptionDrainMs: number;
  metrics?: AgentMetrics;
  logger?: Logger;
  /** The agent's own namespace: left out of heartbeats, and every action aimed there is refused. */
  ownNamespace?: string;
}

/** Next delay: the base with ±10 % jitter, doubled per consecutive failure up to the maximum. */
export function nextDelayMs(baseMs: number, failures: number, maxMs: number, random = Math.random): number {
  const backoff = failures === 0 ? baseMs : Math.min(maxMs, baseMs * 2 ** failures);
  return Math.round(backoff * (0.9 + 0.2 * random()));
}

/** How long a refusal of a malformed action is re-posted while the facade is unreachable (its lease is unknown). */
const REFUSAL_POST_MS = 60_000;

interface Running {
  attempt: number;
  leaseEndsMs: number;
}

/** A 4xx other than 401/429: the facade will never take this result (stale attempt or already done). */
function refusedForGood(err: unknown): err is FacadeError {
  if (!(err instanceof FacadeError)) return false;
  return err.status >= 400 && err.status < 500 && err.status !== 401 && err.status !== 429;
}

export class Agent {
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Map<string, Running>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly interruptions = new InterruptionTracker();
  /** Nodes an interruption drain works on now: their cordon stays while it runs. */
  private readonly draining = new Set<string>();
  private heartbeatFailures = 0;
  private pollFailures = 0;
  /** Epoch ms since which the facade refuses the token (0 = it does not). */
  private refusedSinceMs = 0;
  /** Epoch ms of the last heartbeat the facade accepted (0 = none yet). */
  lastReportMs = 0;
  /** Epoch ms at which the last heartbeat round ended, whatever its outcome (0 = none yet): the loop is alive. */
  lastRoundMs = 0;

  constructor(private readonly o: AgentOptions) {}

  start(): void {
    this.schedule(() => this.heartbeatTick(), 0);
    this.schedule(() => this.pollTick(), 0);
  }

  /** Stops the loops; waits for running actions (each bounded by its own deadline) up to `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }

  private schedule(fn: () => Promise<number>, delayMs: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn().then(
        (next) => this.schedule(fn, next),
        (err: unknown) => {
          this.o.logger?.error({ err }, "Agent loop failed");
          this.schedule(fn, this.o.backoffMaxMs);
        },
      );
    }, delayMs);
    this.timers.add(timer);
  }

  /** One heartbeat; returns the delay until the next. */
  async heartbeatTick(): Promise<number> {
    try {
      await this.heartbeatOnce();
      this.heartbeatFailures = 0;
    } catch (err) {
      this.heartbeatFailures++;
      this.o.metrics?.heartbeats.inc({ result: "failed" });
      if (err instanceof FacadeError && err.status === 401) this.tokenRefused(err);
      else this.o.logger?.warn({ err: (err as Error).message, failures: this.heartbeatFailures }, "Heartbeat failed");
    }
    this.lastRoundMs = Date.now();
    return nextDelayMs(this.o.heartbeatMs, this.heartbeatFailures, this.o.backoffMaxMs);
  }

  /**
   * The facade refused the token: the cluster was disconnected or its token replaced. Said once as an error, not as an
   * outage; the agent keeps trying, since a replaced token is read again from its file before each retry.
   */
  private tokenRefused(err: FacadeError): void {
    if (this.refusedSinceMs !== 0) return;
    this.refusedSinceMs = Date.now();
    this.o.logger?.error(
      { err: err.message },
      "The facade refuses this cluster's token (401): the cluster was disconnected or its token replaced; connect it again (POST /clusters/connect) and run the helm command it answers",
    );
  }

  async heartbeatOnce(): Promise<void> {
    const report = await readCluster(this.o.client, this.o.ownNamespace);
    const notices = report.nodes.flatMap((n) => noticesOnNode(n, new Date().toISOString()));
    await this.handleInterruptions(notices);
    this.interruptions.retain(new Set(report.nodes.map((n) => n.metadata?.name ?? "")));
    await this.releaseWithdrawn(report.nodes, new Set(notices.map((n) => n.node)));
    const interruptions = this.interruptions.pending();
    const answer = await this.o.facade.heartbeat({
      agent_version: AGENT_VERSION,
      heartbeat_interval_seconds: Math.max(1, Math.round(this.o.heartbeatMs / 1000)),
      interruptions,
      ...report.heartbeat,
    });
    // the notices another facade replica is still recording go again with the next heartbeat
    const deferred = new Set((answer.deferred_interruptions ?? []).map((i) => `${i.node}|${i.at}|${i.kind}`));
    this.interruptions.reported(interruptions.filter((i) => !deferred.has(`${i.node}|${i.at}|${i.kind}`)));
    this.lastReportMs = Date.now();
    this.refusedSinceMs = 0;
    this.o.metrics?.heartbeats.inc({ result: "ok" });
    this.o.metrics?.lastReport.set(this.lastReportMs / 1000);
  }

  private async handleInterruptions(notices: Notice[]): Promise<void> {
    for (const notice of this.interruptions.admit(notices)) {
      this.o.metrics?.interruptions.inc({ kind: notice.kind });
      this.o.logger?.warn({ node: notice.node, kind: notice.kind }, "Noticed interruption, draining node");
      this.track(this.drainForInterruption(notice));
    }
  }

  /** Undoes the cordons of notices gone since (a cancelled disruption): the node stays, so it takes pods again. */
  private async releaseWithdrawn(nodes: V1Node[], noticed: ReadonlySet<string>): Promise<void> {
    try {
      const released = await releaseWithdrawn(this.o.client, { nodes, noticed, busy: this.draining });
      for (const node of released) {
        this.interruptions.forget(node);
        this.o.logger?.info({ node }, "Notice withdrawn: node uncordoned");
      }
    } catch (err) {
      this.o.logger?.warn({ err: (err as Error).message }, "Uncordoning a node whose notice was withdrawn failed");
    }
  }

  private async drainForInterruption(notice: Notice): Promise<void> {
    this.draining.add(notice.node);
    try {
      // the mark lets a withdrawn notice's cordon be undone; without it (a 409 while other tools taint the node) the
      // drain still runs and cordons the node itself, which then stays cordoned
      await cordonForNotice(this.o.client, notice.node, notice.kind).catch((err: unknown) =>
        this.o.logger?.warn({ node: notice.node, err: (err as Error).message }, "Marking the notice's cordon failed"),
      );
      await this.drainNode(notice);
    } finally {
      this.draining.delete(notice.node);
    }
  }

  private async drainNode(notice: Notice): Promise<void> {
    const outcome = await execute({
      client: this.o.client,
      action: {
        id: `interruption-${notice.node}`,
        type: "drain",
        target: { api_version: "v1", kind: "Node", namespace: null, name: notice.node },
        params: {},
        attempt: 1,
        lease_expires_at: "",
        deadline: "",
        timeout_seconds: this.o.interruptionDrainMs / 1000,
        lease_seconds: this.o.interruptionDrainMs / 1000,
      },
      deadlineMs: Date.now() + this.o.interruptionDrainMs,
    });
    this.o.logger?.info(
      { node: notice.node, status: outcome.status, message: outcome.message },
      "Drained interrupted node",
    );
  }

  private track(p: Promise<void>): void {
    const tracked = p.catch((err: unknown) => this.o.logger?.error({ err }, "Background work failed"));
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }

  /** One poll; returns the delay until the next. */
  async pollTick(): Promise<number> {
    try {
      const free = this.o.maxConcurrentActions - this.running.size;
      if (free > 0) {
        const { actions, malformed } = await this.o.facade.pending(free);
        for (const action of actions) this.accept(action);
        for (const bad of malformed) this.refuse(bad);
      }
      this.pollFailures = 0;
    } catch (err) {
      this.pollFailures++;
      this.o.logger?.warn({ err: (err as Error).message, failures: this.pollFailures }, "Polling actions failed");
    }
    return nextDelayMs(this.o.pollMs, this.pollFailures, this.o.backoffMaxMs);
  }

  private accept(action: PendingAction): void {
    // Durations, not the facade's instants: the two clocks need not agree.
    const leaseEndsMs = Date.now() + action.lease_seconds * 1000;
    const current = this.running.get(action.id);
    // Handed out again while still running here (its lease ended): the running execution reports under the new attempt.
    if (current) {
      current.attempt = action.attempt;
      current.leaseEndsMs = leaseEndsMs;
      return;
    }
    const running: Running = { attempt: action.attempt, leaseEndsMs };
    this.running.set(action.id, running);
    this.track(this.run(action, running).finally(() => this.running.delete(action.id)));
  }

  /** An action this agent cannot read: failed under its attempt where it names one, so it is not handed out again. */
  private refuse(bad: MalformedAction): void {
    this.o.logger?.warn({ action: bad.id, err: bad.reason }, "Refused a malformed action");
    if (bad.id === undefined || bad.attempt === undefined || this.running.has(bad.id)) return;
    const running: Running = { attempt: bad.attempt, leaseEndsMs: Date.now() + REFUSAL_POST_MS };
    this.o.metrics?.actions.inc({ type: "malformed", result: "failed" });
    this.track(this.postResult(bad.id, running, { status: "failed", message: bad.reason }));
  }

  private async run(action: PendingAction, running: Running): Promise<void> {
    const outcome = await execute({
      client: this.o.client,
      action,
      deadlineMs: Date.now() + action.timeout_seconds * 1000,
      ...(this.o.ownNamespace !== undefined ? { ownNamespace: this.o.ownNamespace } : {}),
    });
    this.o.metrics?.actions.inc({ type: action.type, result: outcome.status });
    this.o.logger?.info(
      { action: action.id, type: action.type, status: outcome.status, message: outcome.message },
      "Executed action",
    );
    await this.postResult(action.id, running, outcome);
  }

  /** Re-posts until accepted, refused (4xx: stale or already done) or the lease ends (then the action is re-leased). */
  private async postResult(id: string, running: Running, outcome: ExecOutcome): Promise<void> {
    let failures = 0;
    while (Date.now() < running.leaseEndsMs) {
      try {
        await this.o.facade.result(id, { attempt: running.attempt, ...outcome });
        return;
      } catch (err) {
        if (refusedForGood(err)) {
          this.o.logger?.info({ action: id, err: err.message }, "Result not recorded");
          return;
        }
        failures++;
        if (this.stopped && failures > 2) return;
        await new Promise((r) => setTimeout(r, nextDelayMs(500, failures, this.o.backoffMaxMs)));
      }
    }
  }
}
