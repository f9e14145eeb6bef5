// The part of a kubelet the simulated cluster needs: bound pods start (Running, Ready), run-to-completion pods
// finish, and a gracefully deleted pod is removed once its containers "stop".
import { randomBytes } from "node:crypto";
import type { CommittedWrite } from "../core.js";
import { keyOf } from "../core.js";
import { clone, deepEqual, nowTimestamp } from "../objects.js";
import type { KubeObject } from "../selectors.js";
import type { Loop, LoopRuntime } from "./runtime.js";

export interface KubeletOptions {
  /** How long the simulated kubelet takes to stop a gracefully deleted pod's containers. */
  podTerminationMs: number;
  /** Start pods bound to an existing node (Running and Ready at once); off, pods stay as written. */
  runPods: boolean;
  /** How long a pod whose restartPolicy is not Always runs before it succeeds. */
  completionMs: number;
}

type Container = { name: string; image?: string };

function containerNames(pod: KubeObject): Container[] {
  return ((pod.spec?.containers as Container[] | undefined) ?? []).filter((c) => c && typeof c.name === "string");
}

const NOT_READY_WHEN_DONE = new Set(["Ready", "ContainersReady", "PodReadyToStartContainers"]);

function condition(type: string, status: string, now: string, reason?: string): Record<string, unknown> {
  const c: Record<string, unknown> = { type, status, lastProbeTime: null, lastTransitionTime: now };
  if (reason) c.reason = reason;
  return c;
}

export class Kubelet implements Loop {
  /** Pending terminations of gracefully deleted pods, by pod uid. */
  private readonly terminations = new Map<string, NodeJS.Timeout>();

  /** Pods that are running until they complete, by pod uid. */
  private readonly completions = new Map<string, NodeJS.Timeout>();
  private ipCounter = 0;

  constructor(
    private readonly runtime: LoopRuntime,
    private readonly opts: KubeletOptions,
  ) {}

  resync(): void {
    for (const pod of this.runtime.core.store.list("/pods")) {
      if (pod.metadata?.deletionTimestamp) this.terminateLater(pod);
      else this.observePod(pod);
    }
  }

  observe(w: CommittedWrite): void {
    const ev = w.event;
    if (ev.resource === "/nodes" && ev.type === "ADDED" && this.opts.runPods) {
      // Pods bound before their node existed start once it does.
      const name = ev.obj.metadata?.name;
      for (const pod of this.runtime.core.store.list("/pods")) if (pod.spec?.nodeName === name) this.observePod(pod);
    }
    if (ev.resource !== "/pods" || ev.type === "DELETED") return;
    if (ev.obj.metadata?.deletionTimestamp) {
      if (ev.type === "MODIFIED") this.terminateLater(ev.obj);
      return;
    }
    this.observePod(ev.obj);
  }

  stop(): void {
    for (const t of [...this.terminations.values(), ...this.completions.values()]) clearTimeout(t);
    this.terminations.clear();
    this.completions.clear();
  }

  private observePod(pod: KubeObject): void {
    if (!this.opts.runPods || pod.metadata?.deletionTimestamp) return;
    const node = pod.spec?.nodeName as string | undefined;
    if (!node || !this.runtime.core.store.get("/nodes", `/${node}`)) return;
    const key = keyOf(pod);
    if (pod.status?.phase === "Pending") this.runtime.enqueue(`kubelet:${key}`, () => this.start(key));
    else if (pod.status?.phase === "Running" && pod.spec?.restartPolicy !== "Always") this.completeLater(pod);
  }

  private writeStatus(cur: KubeObject, status: Record<string, any>): void {
    if (deepEqual(status, cur.status)) return;
    const ctx = this.runtime.ctx(this.runtime.type("", "pods"), cur.metadata?.namespace as string, "kubelet");
    this.runtime.core.commitUpdate(ctx, cur, { ...cur, status }, "status");
  }

  /** Pending → Running with every container started and Ready, as a kubelet reports a healthy start. */
  private start(key: string): void {
    const cur = this.runtime.core.store.get("/pods", key);
    if (!cur || cur.metadata?.deletionTimestamp || cur.status?.phase !== "Pending" || !cur.spec?.nodeName) return;
    const node = this.runtime.core.store.get("/nodes", `/${String(cur.spec.nodeName)}`);
    if (!node) return;
    const now = nowTimestamp();
    const status = clone((cur.status ?? {}) as Record<string, any>);
    const scheduled = ((status.conditions as Record<string, unknown>[] | undefined) ?? []).find(
      (c) => c.type === "PodScheduled",
    );
    status.phase = "Running";
    status.conditions = [
      condition("PodReadyToStartContainers", "True", now),
      condition("Initialized", "True", now),
      condition("Ready", "True", now),
      condition("ContainersReady", "True", now),
      scheduled ?? condition("PodScheduled", "True", now),
    ];
    const hostIP = hostAddress(node);
    if (hostIP) {
      status.hostIP = hostIP;
      status.hostIPs = [{ ip: hostIP }];
    }
    const podIP = this.nextPodIp();
    status.podIP = podIP;
    status.podIPs = [{ ip: podIP }];
    status.startTime = now;
    status.containerStatuses = containerNames(cur).map((c) => ({
      name: c.name,
      image: c.image ?? "",
      imageID: "",
      containerID: `containerd://${randomBytes(32).toString("hex")}`,
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: now } },
    }));
    this.writeStatus(cur, status);
  }

  private completeLater(pod: KubeObject): void {
    const uid = pod.metadata?.uid as string;
    if (this.runtime.isStopped || this.completions.has(uid)) return;
    const key = keyOf(pod);
    const timer = setTimeout(() => {
      this.completions.delete(uid);
      this.runtime.enqueue(`kubelet:done:${key}`, () => this.complete(key, uid));
    }, this.opts.completionMs);
    this.completions.set(uid, timer);
  }

  /** Running → Succeeded: every container exited 0 (simulated workloads always succeed). */
  private complete(key: string, uid: string): void {
    const cur = this.runtime.core.store.get("/pods", key);
    if (!cur || cur.metadata?.uid !== uid || cur.metadata?.deletionTimestamp || cur.status?.phase !== "Running") return;
    const now = nowTimestamp();
    const status = clone((cur.status ?? {}) as Record<string, any>);
    status.phase = "Succeeded";
    status.conditions = ((status.conditions as Record<string, unknown>[] | undefined) ?? []).map((c) =>
      NOT_READY_WHEN_DONE.has(String(c.type))
        ? condition(String(c.type), "False", now, c.type === "PodReadyToStartContainers" ? undefined : "PodCompleted")
        : c,
    );
    status.containerStatuses = ((status.containerStatuses as Record<string, any>[] | undefined) ?? []).map((c) => ({
      ...c,
      ready: false,
      started: false,
      state: {
        terminated: {
          exitCode: 0,
          reason: "Completed",
          startedAt: c.state?.running?.startedAt ?? now,
          finishedAt: now,
          containerID: c.containerID,
        },
      },
    }));
    this.writeStatus(cur, status);
  }

  private nextPodIp(): string {
    const n = this.ipCounter++;
    return `10.244.${Math.floor(n / 250) % 256}.${(n % 250) + 2}`;
  }

  private terminateLater(pod: KubeObject): void {
    const uid = pod.metadata?.uid as string;
    const graceSeconds = (pod.metadata?.deletionGracePeriodSeconds as number | undefined) ?? 0;
    if (this.runtime.isStopped || this.terminations.has(uid) || !graceSeconds) return;
    const timer = setTimeout(
      () => {
        this.terminations.delete(uid);
        this.finish(pod, uid);
      },
      Math.min(graceSeconds * 1000, this.opts.podTerminationMs),
    );
    this.terminations.set(uid, timer);
  }

  private finish(pod: KubeObject, uid: string): void {
    const core = this.runtime.core;
    const cur = core.store.get("/pods", keyOf(pod));
    if (!cur || cur.metadata?.uid !== uid || !cur.metadata?.deletionTimestamp) return;
    const fins = (cur.metadata.finalizers as string[] | undefined) ?? [];
    const ctx = this.runtime.ctx(this.runtime.type("", "pods"), cur.metadata.namespace as string);
    if (fins.length === 0) core.removeNow(ctx, cur);
    else core.commitRaw(ctx, cur, { ...cur, metadata: { ...cur.metadata, deletionGracePeriodSeconds: 0 } });
  }
}

/** The node's InternalIP, as the kubelet reports hostIP. */
function hostAddress(node: KubeObject): string | undefined {
  const addresses = (node.status?.addresses as { type?: string; address?: string }[] | undefined) ?? [];
  return addresses.find((a) => a.type === "InternalIP")?.address;
}
