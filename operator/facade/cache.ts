// The facade's read model: informers (src-shared/runtime) over our custom resources and (in the release namespace) the
// agent-token Secrets, indexed by namespace, so that GET requests never LIST the API server; plus read-your-writes
// waits for handlers that just changed something.
import type { KubeConfig, V1Secret } from "@kubernetes/client-node";
import {
  API_VERSION,
  type AgentAction,
  type AuditEntry,
  type HibernationSchedule,
  type LabExperiment,
  type ManagedCluster,
  type NodeTemplate,
  type OptimizationPolicy,
} from "../../src-shared/crds/index.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/client.js";
import { Informer, type InformerEvent } from "../../src-shared/runtime/informer.js";
import type { FacadeCacheBase } from "./app.js";
import { PRICE_BOOK_LABEL } from "../../src-shared/pricing/book.js";
import { AGENT_TOKEN_SUFFIX, agentObjectOf } from "../../src-shared/agent/placement.js";
import {
  DEFAULT_SYSTEM_NAMESPACE,
  LOCAL_CLUSTER_CONFIGMAP,
  type LocalClusterRef,
} from "../../src-shared/tenancy/cluster-target.js";

/** Label on the Secrets that hold agent-token hashes (the only Secrets the facade caches). */
export const AGENT_TOKEN_LABEL = "spotoptimizer.io/agent-token";

export type CachedKind =
  | "ManagedCluster"
  | "NodeTemplate"
  | "OptimizationPolicy"
  | "HibernationSchedule"
  | "AuditEntry"
  | "LabExperiment"
  | "AgentAction"
  | "Secret"
  | "ConfigMap"
  | "PriceBookConfigMap";

export interface FacadeCache extends FacadeCacheBase {
  hasSynced(): boolean;
  /** Bumped by every informer event of every kind (memoised responses compare it). */
  version(): number;
  clusters(namespace: string): ManagedCluster[];
  cluster(namespace: string, name: string): ManagedCluster | undefined;
  /** Every organisation's clusters (for rules that must see across tenants, e.g. who owns the local cluster). */
  allClusters(): ManagedCluster[];
  /** Number of `mode: local` ManagedClusters across all organisations (memoised per change of any ManagedCluster). */
  localClusterCount(): number;
  templates(namespace: string): NodeTemplate[];
  template(namespace: string, name: string): NodeTemplate | undefined;
  policies(namespace: string): OptimizationPolicy[];
  hibernationSchedules(namespace: string): HibernationSchedule[];
  auditEntries(namespace: string): AuditEntry[];
  labExperiments(namespace: string): LabExperiment[];
  agentActions(namespace: string): AgentAction[];
  /** Every organisation's AgentActions (platform views only). */
  allAgentActions(): AgentAction[];
  /** Calls `listener` with each change of `kind` after the cache applied it (cheap, must not throw); returns unsubscribe. */
  subscribe(kind: CachedKind, listener: (event: InformerEvent<KubeObject>) => void): () => void;
  /** The agent-token Secret of a cluster (in the release namespace), only when labelled for that namespace and cluster. */
  agentTokenSecret(namespace: string, clusterName: string): V1Secret | undefined;
  /** The installer's designation of the local cluster (ConfigMap spot-optimizer-local-cluster); undefined: none. */
  localCluster(): LocalClusterRef | undefined;
  /** The operator's price-book ConfigMaps (one per region, in the system namespace). */
  priceBookConfigMaps(): KubeObject[];
  /**
   * Resolves once the cache holds `name` at `resourceVersion` (or, with null, no longer holds it), or after
   * `timeoutMs`: lets a handler answer only when a following GET will see its write.
   */
  waitFor(
    kind: CachedKind,
    ref: { namespace?: string; name: string; resourceVersion: string | null },
    timeoutMs?: number,
  ): Promise<boolean>;
  /** Starts every informer; resolves when all have listed once, or after `syncTimeoutMs` (then /readyz stays 503). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

interface Source {
  kind: CachedKind;
  /** The Kubernetes kind when the cache name differs (two ConfigMap sources). */
  apiKind?: string;
  apiVersion: string;
  labelSelector?: string;
  namespace?: string;
  fieldSelector?: string;
}

const SOURCES: Source[] = [
  { kind: "ManagedCluster", apiVersion: API_VERSION },
  { kind: "NodeTemplate", apiVersion: API_VERSION },
  { kind: "OptimizationPolicy", apiVersion: API_VERSION },
  { kind: "HibernationSchedule", apiVersion: API_VERSION },
  { kind: "AuditEntry", apiVersion: API_VERSION },
  { kind: "LabExperiment", apiVersion: API_VERSION },
  { kind: "AgentAction", apiVersion: API_VERSION },
];

/** The agent-token Secrets: label-selected, in the release namespace only (the facade reads no other Secrets here). */
function agentTokenSource(systemNamespace: string): Source {
  return { kind: "Secret", apiVersion: "v1", namespace: systemNamespace, labelSelector: `${AGENT_TOKEN_LABEL}=true` };
}

/** The one ConfigMap the facade watches: which organisation's ManagedCluster is the cluster the operator runs in. */
function designationSource(systemNamespace: string): Source {
  return {
    kind: "ConfigMap",
    apiVersion: "v1",
    namespace: systemNamespace,
    fieldSelector: `metadata.name=${LOCAL_CLUSTER_CONFIGMAP}`,
  };
}

/** The operator's price books: the prices every figure uses (label-selected ConfigMaps of the system namespace). */
function priceBookSource(systemNamespace: string): Source {
  return {
    kind: "PriceBookConfigMap",
    apiKind: "ConfigMap",
    apiVersion: "v1",
    namespace: systemNamespace,
    labelSelector: PRICE_BOOK_LABEL,
  };
}

const CLUSTER_SCOPE = "";

/** One kind's objects by namespace, with name-sorted lists memoised until the namespace changes. */
class NamespaceIndex {
  private readonly byNamespace = new Map<string, Map<string, KubeObject>>();
  private readonly sorted = new Map<string, KubeObject[]>();
  private all: KubeObject[] | undefined;
  version = 0;

  apply(event: InformerEvent<KubeObject>): void {
    const ns = event.object.metadata?.namespace ?? CLUSTER_SCOPE;
    const name = event.object.metadata?.name ?? "";
    let objects = this.byNamespace.get(ns);
    if (event.type === "delete") objects?.delete(name);
    else {
      if (!objects) this.byNamespace.set(ns, (objects = new Map()));
      objects.set(name, event.object);
    }
    this.sorted.delete(ns);
    this.all = undefined;
    this.version++;
  }

  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.byNamespace.get(namespace ?? CLUSTER_SCOPE)?.get(name);
  }

  /** Name-sorted objects of one namespace; callers must not mutate the array. */
  list(namespace: string): KubeObject[] {
    let out = this.sorted.get(namespace);
    if (!out) {
      out = [...(this.byNamespace.get(namespace)?.values() ?? [])].sort((a, b) =>
        (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""),
      );
      this.sorted.set(namespace, out);
    }
    return out;
  }

  listAll(): KubeObject[] {
    this.all ??= [...this.byNamespace.values()].flatMap((m) => [...m.values()]);
    return this.all;
  }
}

/** The informers of one FacadeCache, their indexes and who waits for a change. */
interface CacheState {
  client: KubeClient;
  informers: Map<CachedKind, Informer>;
  indexes: Map<CachedKind, NamespaceIndex>;
  waiters: Set<() => void>;
  version: number;
  localCount: { at: number; count: number } | undefined;
  listeners: Map<CachedKind, Set<(event: InformerEvent<KubeObject>) => void>>;
}

function addInformers(state: CacheState, systemNamespace: string): void {
  const sources = [
    ...SOURCES,
    agentTokenSource(systemNamespace),
    designationSource(systemNamespace),
    priceBookSource(systemNamespace),
  ];
  for (const source of sources) {
    const informer = new Informer({
      client: state.client,
      apiVersion: source.apiVersion,
      kind: source.apiKind ?? source.kind,
      labelSelector: source.labelSelector,
      namespace: source.namespace,
      fieldSelector: source.fieldSelector,
    });
    const index = new NamespaceIndex();
    informer.on((event) => {
      index.apply(event);
      state.version++;
      for (const w of [...state.waiters]) w();
      // one failing listener (a stream whose socket broke) must not keep the event from the others
      for (const listener of state.listeners.get(source.kind) ?? [])
        try {
          listener(event);
        } catch {
          // the listener's own business
        }
    });
    state.informers.set(source.kind, informer);
    state.indexes.set(source.kind, index);
  }
}

function indexOf(state: CacheState, kind: CachedKind): NamespaceIndex {
  return state.indexes.get(kind)!;
}

function getObject<T>(state: CacheState, kind: CachedKind, name: string, namespace?: string): T | undefined {
  return indexOf(state, kind).get(namespace, name) as T | undefined;
}

function listObjects<T>(state: CacheState, kind: CachedKind, namespace: string): T[] {
  return indexOf(state, kind).list(namespace) as unknown as T[];
}

type CacheRef = { namespace?: string; name: string; resourceVersion: string | null };

function holds(state: CacheState, kind: CachedKind, ref: CacheRef): boolean {
  const obj = getObject<KubeObject>(state, kind, ref.name, ref.namespace);
  return ref.resourceVersion === null ? obj === undefined : obj?.metadata?.resourceVersion === ref.resourceVersion;
}

async function waitFor(state: CacheState, kind: CachedKind, ref: CacheRef, timeoutMs: number): Promise<boolean> {
  if (holds(state, kind, ref)) return true;
  return new Promise<boolean>((resolve) => {
    const check = (): void => {
      if (holds(state, kind, ref)) finish(true);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      state.waiters.delete(check);
      resolve(ok);
    };
    state.waiters.add(check);
  });
}

function localClusterCount(state: CacheState): number {
  const at = indexOf(state, "ManagedCluster").version;
  if (state.localCount?.at !== at) {
    const all = indexOf(state, "ManagedCluster").listAll() as unknown as ManagedCluster[];
    state.localCount = { at, count: all.filter((c) => (c.spec?.mode ?? "local") === "local").length };
  }
  return state.localCount.count;
}

/** Starts every informer and waits for all to sync, or for `syncTimeoutMs`, whichever comes first. */
async function startInformers(state: CacheState, syncTimeoutMs: number): Promise<void> {
  for (const informer of state.informers.values()) informer.start();
  const synced = Promise.all([...state.informers.values()].map((i) => i.waitForSync()));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, syncTimeoutMs);
    timer.unref();
  });
  await Promise.race([synced, timeout]);
  clearTimeout(timer);
}

/** Informer-backed FacadeCache over every organisation namespace. */
export function createFacadeCache(
  kubeConfig: KubeConfig,
  opts: { syncTimeoutMs?: number; systemNamespace?: string } = {},
): FacadeCache {
  const state: CacheState = {
    client: new KubeClient(kubeConfig),
    informers: new Map(),
    indexes: new Map(),
    waiters: new Set(),
    version: 0,
    localCount: undefined,
    listeners: new Map(),
  };
  const systemNamespace = opts.systemNamespace ?? DEFAULT_SYSTEM_NAMESPACE;
  addInformers(state, systemNamespace);
  const list = <T>(kind: CachedKind, namespace: string): T[] => listObjects<T>(state, kind, namespace);
  const get = <T>(kind: CachedKind, name: string, namespace?: string): T | undefined =>
    getObject<T>(state, kind, name, namespace);

  return {
    hasSynced: () => [...state.informers.values()].every((i) => i.hasSynced()),
    version: () => state.version,
    clusters: (ns) => list<ManagedCluster>("ManagedCluster", ns),
    cluster: (ns, name) => get<ManagedCluster>("ManagedCluster", name, ns),
    allClusters: () => indexOf(state, "ManagedCluster").listAll() as unknown as ManagedCluster[],
    localClusterCount: () => localClusterCount(state),
    templates: (ns) => list<NodeTemplate>("NodeTemplate", ns),
    template: (ns, name) => get<NodeTemplate>("NodeTemplate", name, ns),
    policies: (ns) => list<OptimizationPolicy>("OptimizationPolicy", ns),
    hibernationSchedules: (ns) => list<HibernationSchedule>("HibernationSchedule", ns),
    auditEntries: (ns) => list<AuditEntry>("AuditEntry", ns),
    labExperiments: (ns) => list<LabExperiment>("LabExperiment", ns),
    agentActions: (ns) => list<AgentAction>("AgentAction", ns),
    allAgentActions: () => indexOf(state, "AgentAction").listAll() as unknown as AgentAction[],
    subscribe: (kind, listener) => {
      const set = state.listeners.get(kind) ?? new Set();
      state.listeners.set(kind, set);
      set.add(listener);
      return () => set.delete(listener);
    },
    agentTokenSecret: (namespace, cluster) =>
      agentObjectOf<V1Secret>(
        { get: (ns, name) => get<V1Secret>("Secret", name, ns) },
        { releaseNamespace: systemNamespace, namespace, cluster, suffix: AGENT_TOKEN_SUFFIX },
      ),
    localCluster: () => {
      const data = (indexOf(state, "ConfigMap").listAll()[0] as { data?: Record<string, string> } | undefined)?.data;
      return data?.namespace && data.name ? { namespace: data.namespace, name: data.name } : undefined;
    },
    priceBookConfigMaps: () => indexOf(state, "PriceBookConfigMap").listAll(),
    waitFor: (kind, ref, timeoutMs = 3000) => waitFor(state, kind, ref, timeoutMs),
    start: () => startInformers(state, opts.syncTimeoutMs ?? 30_000),
    stop: async () => {
      await Promise.all([...state.informers.values()].map((i) => i.stop()));
      state.client.close();
    },
  };
}
