// Controller manager: shared informers per kind, one work queue per controller, event-to-key mapping, leader gating.
import { KubeApiError, type KubeClient, type KubeObject } from "../kube/client.js";
import { Informer, type InformerEvent } from "./informer.js";
import { objectKey, keyOf } from "./keys.js";
import { LeaderElector, type LeaderElectorOptions } from "./leader.js";
import { WorkQueue, type ReconcileFn } from "./workqueue.js";

export interface KindRef {
  apiVersion: string;
  kind: string;
  /** Only objects with these labels (e.g. the ConfigMaps one component writes); a separate informer per selector. */
  labelSelector?: string;
  /** Only objects these fields select (e.g. `metadata.name=…`, one object by name); a separate informer per selector. */
  fieldSelector?: string;
  /** Only this namespace (e.g. the release namespace's objects), so RBAC need grant list/watch there only. */
  namespace?: string;
}

export interface WatchSpec extends KindRef {
  /** Keys of the primary kind to reconcile when an object of this kind changes. */
  mapToKeys: (object: KubeObject) => string[];
}

export interface ControllerSpec {
  /** For logs, e.g. "nodetemplate". */
  name: string;
  /** The reconciled kind; its events enqueue its own key. */
  forKind: KindRef;
  /** Kinds we create with an ownerReference (controller: true) to a `forKind` object: their events enqueue the owner. */
  owns?: KindRef[];
  /** Other kinds whose events map to keys of `forKind` (e.g. a ManagedCluster change re-reconciles its templates). */
  watches?: WatchSpec[];
  reconcile: ReconcileFn;
  /**
   * Keys to reconcile on becoming leader besides every cached `forKind` object, e.g. keys of deleted objects whose
   * cluster-scoped children must be swept (read from the caches, which are synced by then).
   */
  initialKeys?: () => string[];
  /** Parallel reconciles (different keys). Default 2. */
  concurrency?: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Releases what the controller holds beyond its queue (a worker thread), once the manager has stopped reconciling. */
  close?: () => Promise<void>;
}

export interface ManagerLogger {
  info: (obj: object, msg: string) => void;
  error: (obj: object, msg: string) => void;
  /** Routine retries (a reconcile that lost a write race); not logged without it. */
  debug?: (obj: object, msg: string) => void;
}

export interface ManagerOptions {
  client: KubeClient;
  /** Lease settings; omit (or false) to reconcile without leader election (tests, the agent). */
  leaderElection?: Omit<LeaderElectorOptions, "client" | "onStartedLeading" | "onStoppedLeading"> | false;
  logger?: ManagerLogger;
  /** Informer watch timeout, seconds (tests shorten it). */
  watchTimeoutSeconds?: number;
}

interface Controller {
  spec: ControllerSpec;
  queue: WorkQueue | undefined;
}

/**
 * Runs controllers the controller-runtime way: informers fill caches (always, so a standby has warm
 * caches), and only the leader runs work queues. On becoming leader every cached object of each
 * controller's kind is enqueued, so nothing that happened while standing by is missed.
 */
/** One shared informer per kind, label selector and namespace. */
function informerId(ref: KindRef): string {
  const selector =
    (ref.labelSelector !== undefined ? `?${ref.labelSelector}` : "") +
    (ref.fieldSelector !== undefined ? `&${ref.fieldSelector}` : "");
  return `${ref.apiVersion}/${ref.kind}${selector}${ref.namespace !== undefined ? `@${ref.namespace}` : ""}`;
}

export class ControllerManager {
  readonly client: KubeClient;
  private readonly options: ManagerOptions;
  private readonly informers = new Map<string, Informer>();
  /** Never started: kinds optionalInformer found not served. */
  private readonly unserved = new Map<string, Informer>();
  private readonly controllers: Controller[] = [];
  private elector: LeaderElector | undefined;
  private started = false;
  private stopping = false;
  private active = false;
  private transition: Promise<void> = Promise.resolve();

  constructor(options: ManagerOptions) {
    this.client = options.client;
    this.options = options;
  }

  /** The shared informer for a kind (created on first use; all namespaces unless the ref names one). Read caches through it. */
  informer<T extends KubeObject = KubeObject>(ref: KindRef): Informer<T> {
    const id = informerId(ref);
    const unserved = this.unserved.get(id);
    if (unserved !== undefined) return unserved as unknown as Informer<T>;
    let informer = this.informers.get(id);
    if (informer === undefined) {
      informer = new Informer({
        client: this.client,
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        labelSelector: ref.labelSelector,
        fieldSelector: ref.fieldSelector,
        namespace: ref.namespace,
        watchTimeoutSeconds: this.options.watchTimeoutSeconds,
        onError: (error) => this.options.logger?.error({ err: error, kind: ref.kind }, "Watch failed"),
      });
      this.informers.set(id, informer);
      if (this.started) informer.start();
    }
    return informer as unknown as Informer<T>;
  }

  /**
   * The informer of a kind the cluster may not serve (Karpenter's, where it is not installed): the shared one when the
   * server serves the kind, else one never started, whose cache stays empty and whose sync nothing waits for — and
   * which every later `informer()` and controller watch of that kind gets too, so a watch of it is simply quiet.
   * Discovery is asked once, here: a kind the cluster starts serving later is watched after a restart.
   */
  async optionalInformer<T extends KubeObject = KubeObject>(
    ref: KindRef,
  ): Promise<{ informer: Informer<T>; served: boolean }> {
    if (await this.client.serves(ref)) return { informer: this.informer<T>(ref), served: true };
    const id = informerId(ref);
    if (!this.unserved.has(id)) this.unserved.set(id, new Informer({ client: this.client, ...ref }));
    return { informer: this.unserved.get(id) as unknown as Informer<T>, served: false };
  }

  /** Registers a controller; call before start(). */
  addController(spec: ControllerSpec): void {
    const controller: Controller = { spec, queue: undefined };
    this.controllers.push(controller);
    const enqueue = (keys: string[]): void => {
      for (const key of keys) controller.queue?.add(key);
    };
    this.informer(spec.forKind).on((event) => enqueue([objectKey(event.object)]));
    for (const owned of spec.owns ?? []) {
      this.informer(owned).on((event) => enqueue(ownerKeys(event, spec.forKind)));
    }
    for (const watch of spec.watches ?? []) {
      this.informer(watch).on((event) => enqueue(safeMap(watch, event.object)));
    }
  }

  /** Starts informers and (after winning the election, if configured) the controllers' queues. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const informer of this.informers.values()) informer.start();
    const election = this.options.leaderElection;
    if (election === undefined || election === false) {
      this.setActive(true);
      return;
    }
    this.elector = new LeaderElector({
      ...election,
      client: this.client,
      onStartedLeading: () => this.setActive(true),
      onStoppedLeading: () => this.setActive(false),
    });
    this.elector.start();
  }

  /** Resolves when every informer has listed once. */
  async waitForCacheSync(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
  }

  hasSynced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced());
  }

  /** True while this instance runs the reconcilers (always true without leader election once started). */
  isActive(): boolean {
    return this.active;
  }

  /** Resolves when every running queue has nothing queued or in flight (delayed requeues excluded). */
  async idle(): Promise<void> {
    await this.transition;
    await Promise.all(this.controllers.map((c) => c.queue?.idle()));
  }

  /** Stops reconciling (waits for running reconciles), releases the lease, then stops the informers. */
  async stop(options: { releaseLease?: boolean } = {}): Promise<void> {
    // From here on a late "started leading" callback must not start queues again.
    this.stopping = true;
    this.setActive(false);
    await this.transition;
    // The lease is released only after our reconciles have finished, so no two leaders overlap.
    await this.elector?.stop(options);
    await this.transition;
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
    await Promise.all(this.controllers.map((c) => c.spec.close?.()));
  }

  private setActive(active: boolean): void {
    if (active && this.stopping) return;
    if (active === this.active) return;
    this.active = active;
    this.transition = this.transition.then(() => (active ? this.startQueues() : this.stopQueues()));
  }

  private async startQueues(): Promise<void> {
    this.options.logger?.info({}, "Started leading");
    await this.waitForCacheSync();
    if (!this.active) return;
    for (const controller of this.controllers) {
      const { spec } = controller;
      controller.queue = new WorkQueue({
        reconcile: spec.reconcile,
        concurrency: spec.concurrency ?? 2,
        baseBackoffMs: spec.baseBackoffMs,
        maxBackoffMs: spec.maxBackoffMs,
        maxBackoffAfter: (key, error, failures) =>
          failures <= ROUTINE_RETRIES && routineRetry(error, key, spec.forKind) ? ROUTINE_RETRY_MAX_MS : undefined,
        onError: (key, error, retryInMs) =>
          logReconcileFailure(this.options.logger, { err: error, controller: spec.name, key, retryInMs }, spec.forKind),
      });
      for (const key of this.informer(spec.forKind).keys()) controller.queue.add(key);
      for (const key of spec.initialKeys?.() ?? []) controller.queue.add(key);
    }
  }

  private async stopQueues(): Promise<void> {
    const queues = this.controllers.map((c) => c.queue);
    for (const controller of this.controllers) controller.queue = undefined;
    await Promise.all(queues.map((q) => q?.stop()));
    this.options.logger?.info({}, "Stopped leading");
  }
}

/**
 * A 409 Conflict is optimistic concurrency at work (a write over a resourceVersion someone changed meanwhile): the key
 * is requeued with a backoff held to a second and reads the newer object then, so it is no error. So is a 404 naming the key's
 * own object (deleted while it was reconciled, e.g. by garbage collection): the requeue finds it gone. AlreadyExists
 * (also 409), a 404 of anything else (a missing resource type, another object) and everything else are errors.
 */
function logReconcileFailure(
  logger: ManagerLogger | undefined,
  failure: { err: unknown; controller: string; key: string; retryInMs: number },
  forKind: KindRef,
): void {
  const { err } = failure;
  if (lostWriteRace(err)) logger?.debug?.(failure, "Reconcile conflicted, requeued");
  else if (deletedMeanwhile(err, failure.key, forKind))
    logger?.debug?.(failure, "Reconciled object deleted meanwhile, requeued");
  else logger?.error(failure, "Reconcile failed");
}

/**
 * The longest a routine retry waits. Each lost race doubles the key's delay like any failure, but a reconcile that
 * writes several objects can lose several in a row while making progress; a minute's wait would stall it for nothing.
 */
const ROUTINE_RETRY_MAX_MS = 1_000;
/** Past this many failures in a row, lost races are no longer routine (two writers fighting): the usual backoff applies. */
const ROUTINE_RETRIES = 20;

function lostWriteRace(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 409 && err.reason === "Conflict";
}

function routineRetry(err: unknown, key: string, forKind: KindRef): boolean {
  return lostWriteRace(err) || deletedMeanwhile(err, key, forKind);
}

/**
 * A 404 NotFound whose Status names the object of `key` (`namespace/name` or `name`) of the controller's own kind: its
 * group, and its resource (a plural: "optimizationpolicies" for OptimizationPolicy). Objects of other kinds are often
 * named alike here (a cluster's policy and schedule carry the cluster's name), so the name alone does not tell.
 */
export function deletedMeanwhile(err: unknown, key: string, kind: KindRef): boolean {
  if (!(err instanceof KubeApiError) || err.statusCode !== 404 || err.reason !== "NotFound") return false;
  const details = notFoundDetails(err.body);
  if (details.name === "" || key.split("/").at(-1) !== details.name) return false;
  return (
    details.group === groupOf(kind.apiVersion) && details.resource.startsWith(kind.kind.toLowerCase().replace(/y$/, ""))
  );
}

/** A NotFound Status's name, group and resource (lower case), empty where it names none. */
function notFoundDetails(body: unknown): { name: string; group: string; resource: string } {
  const d = (body as { details?: Record<string, unknown> } | undefined)?.details ?? {};
  const text = (v: unknown): string => (typeof v === "string" ? v : "");
  return { name: text(d.name), group: text(d.group), resource: text(d.kind).toLowerCase() };
}

/** Keys of `owner`-kind controllers named in the object's controller ownerReference (same namespace). */
function ownerKeys(event: InformerEvent<KubeObject>, owner: KindRef): string[] {
  const meta = event.object.metadata;
  const refs = meta?.ownerReferences ?? [];
  const ownerGroup = groupOf(owner.apiVersion);
  return refs
    .filter((ref) => ref.controller === true && ref.kind === owner.kind && groupOf(ref.apiVersion) === ownerGroup)
    .map((ref) => keyOf(meta?.namespace, ref.name));
}

function groupOf(apiVersion: string): string {
  return apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
}

function safeMap(watch: WatchSpec, object: KubeObject): string[] {
  try {
    return watch.mapToKeys(object);
  } catch {
    return [];
  }
}
