// Event recorder: core/v1 Events a person sees in `kubectl describe`, with repeats aggregated into count.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { isNotFound, type KubeClient, type KubeObject } from "../kube/client.js";

export type EventType = "Normal" | "Warning";

export interface EventInput {
  type: EventType;
  /** CamelCase, e.g. Applied, ScaledDown, InvalidSpec. */
  reason: string;
  message: string;
  /** What was done, e.g. Apply, Scale (events.k8s.io "action"). */
  action?: string;
}

export interface EventRecorderOptions {
  client: KubeClient;
  /** source.component / reportingComponent. Default "spot-optimizer". */
  component?: string;
  /** Instance name (pod name in a cluster). Default the host name. */
  instance?: string;
  onError?: (error: unknown) => void;
  /** How many distinct events to remember for aggregation. Default 4096. */
  cacheSize?: number;
}

interface Recorded {
  namespace: string;
  name: string;
  count: number;
}

/** Kubernetes Events for people (`kubectl describe`), as a reconciler sends them; EventRecorder is the one in use. */
export interface EventSink {
  normal(object: KubeObject, reason: string, message: string): Promise<void>;
  warning(object: KubeObject, reason: string, message: string): Promise<void>;
}

/**
 * Records Events about our objects. The same (object, type, reason, message) seen again bumps the
 * existing Event's count and lastTimestamp instead of creating a new one. Recording never throws:
 * an Event is a courtesy to people, not part of reconciliation.
 */
export class EventRecorder implements EventSink {
  private readonly client: KubeClient;
  private readonly component: string;
  private readonly instance: string;
  private readonly onError: ((error: unknown) => void) | undefined;
  private readonly cacheSize: number;
  private readonly recorded = new Map<string, Recorded>();
  private readonly pending = new Map<string, Promise<void>>();

  constructor(options: EventRecorderOptions) {
    this.client = options.client;
    this.component = options.component ?? "spot-optimizer";
    this.instance = options.instance ?? hostname();
    this.onError = options.onError;
    this.cacheSize = options.cacheSize ?? 4096;
  }

  normal(involved: KubeObject, reason: string, message: string): Promise<void> {
    return this.record(involved, { type: "Normal", reason, message });
  }

  warning(involved: KubeObject, reason: string, message: string): Promise<void> {
    return this.record(involved, { type: "Warning", reason, message });
  }

  /** Creates or aggregates an Event about `involved`; repeats for the same key are serialised. */
  async record(involved: KubeObject, event: EventInput): Promise<void> {
    const key = aggregationKey(involved, event);
    const previous = this.pending.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.write(key, involved, event));
    this.pending.set(key, next);
    try {
      await next;
    } finally {
      if (this.pending.get(key) === next) this.pending.delete(key);
    }
  }

  private async write(key: string, involved: KubeObject, event: EventInput): Promise<void> {
    try {
      const now = new Date().toISOString();
      const seen = this.recorded.get(key);
      if (seen !== undefined && (await this.bump(seen, now))) return;
      this.remember(key, await this.create(involved, event, now));
    } catch (error) {
      this.onError?.(error);
    }
  }

  private async bump(seen: Recorded, now: string): Promise<boolean> {
    try {
      await this.client.patch(
        { apiVersion: "v1", kind: "Event", namespace: seen.namespace, name: seen.name },
        { count: seen.count + 1, lastTimestamp: now },
        { type: "merge" },
      );
      seen.count++;
      return true;
    } catch (error) {
      // The Event expired (TTL) or was deleted: start a new one.
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  private async create(involved: KubeObject, event: EventInput, now: string): Promise<Recorded> {
    const meta = involved.metadata ?? {};
    const namespace = meta.namespace ?? "default";
    const suffix = `${Date.now().toString(16)}${randomBytes(3).toString("hex")}`;
    // An object's name may use all 253 characters a name allows: the suffix must still fit.
    const base = (meta.name ?? "object").slice(0, 252 - suffix.length).replace(/[-.]+$/, "");
    const name = `${base}.${suffix}`;
    await this.client.create({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: involved.apiVersion,
        kind: involved.kind,
        name: meta.name,
        namespace: meta.namespace,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
      },
      type: event.type,
      reason: event.reason,
      message: event.message,
      action: event.action,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: this.component, host: this.instance },
      reportingComponent: this.component,
      reportingInstance: this.instance,
    });
    return { namespace, name, count: 1 };
  }

  private remember(key: string, recorded: Recorded): void {
    this.recorded.delete(key);
    this.recorded.set(key, recorded);
    // Map keeps insertion order: drop the oldest when full.
    while (this.recorded.size > this.cacheSize) this.recorded.delete(this.recorded.keys().next().value as string);
  }
}

function aggregationKey(involved: KubeObject, event: EventInput): string {
  const meta = involved.metadata ?? {};
  return JSON.stringify([involved.kind, meta.namespace, meta.name, meta.uid, event.type, event.reason, event.message]);
}
