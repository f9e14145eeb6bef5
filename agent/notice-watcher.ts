// DaemonSet mode: one pod per Spot node asks the EC2 instance metadata of its own node for a Spot interruption notice
// and, on one, taints its node. The Deployment agent sees the taint as it sees the Node Termination Handler's: it
// drains the node and reports the notice. So no DaemonSet pod holds a facade token, reads the cluster or runs actions.
import type { Logger } from "pino";
import type { V1Node } from "@kubernetes/client-node";
import type { KubeClient, KubeObject } from "../src-shared/kube/client.js";
import { imdsInstanceAction, NOTICE_AT_ANNOTATION, NOTICE_TAINT } from "./interruptions.js";
import { AGENT_FIELD_MANAGER } from "./executors/fields.js";
import { nodeRef } from "./executors/node.js";
import { nextDelayMs } from "./agent.js";

export interface NoticeWatcherOptions {
  client: KubeClient;
  nodeName: string;
  imdsUrl: string;
  pollMs: number;
  backoffMaxMs: number;
  logger?: Logger;
}

export class NoticeWatcher {
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private tainted = false;
  /** Epoch ms of the last round in which the instance metadata answered (0 = none yet): readiness. */
  lastReportMs = 0;
  /** Epoch ms at which the last round ended, whatever its outcome (0 = none yet): liveness. */
  lastRoundMs = 0;

  constructor(private readonly o: NoticeWatcherOptions) {}

  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.round().then(() => this.schedule(nextDelayMs(this.o.pollMs, this.failures, this.o.backoffMaxMs)));
    }, delayMs);
  }

  /** The notice's taint on the node; a failure (a 409 while other tools write the node) is tried again next round. */
  private async taint(at: string): Promise<void> {
    try {
      this.tainted = await taintNode(this.o.client, this.o.nodeName, at);
      this.o.logger?.warn({ node: this.o.nodeName, at }, "Spot interruption notice: node tainted");
    } catch (err) {
      this.o.logger?.warn(
        { node: this.o.nodeName, err: (err as Error).message },
        "Tainting the node for its notice failed",
      );
    }
  }

  /** One look at the instance metadata; a notice taints the node (once). */
  async round(): Promise<void> {
    try {
      const notice = await imdsInstanceAction(this.o.imdsUrl);
      this.lastReportMs = Date.now();
      if (notice && !this.tainted) await this.taint(notice.at);
      this.failures = 0;
    } catch (err) {
      this.failures++;
      this.o.logger?.warn({ err: (err as Error).message, failures: this.failures }, "Instance metadata check failed");
    }
    this.lastRoundMs = Date.now();
  }
}

/** Adds the notice taint (NoSchedule) and its time to the node, guarded by its resourceVersion; true once it holds. */
export async function taintNode(client: KubeClient, name: string, at: string): Promise<boolean> {
  const ref = nodeRef(name);
  const node = await client.get<KubeObject & V1Node>(ref);
  const taints = node.spec?.taints ?? [];
  if (taints.some((t) => t.key === NOTICE_TAINT)) return true;
  await client.patch(
    ref,
    {
      metadata: { resourceVersion: node.metadata?.resourceVersion, annotations: { [NOTICE_AT_ANNOTATION]: at } },
      spec: { taints: [...taints, { key: NOTICE_TAINT, value: "true", effect: "NoSchedule" }] },
    },
    { type: "merge", fieldManager: AGENT_FIELD_MANAGER },
  );
  return true;
}
