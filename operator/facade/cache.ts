// The facade's read model: informers (src-shared/runtime) over our custom resources and agent-token Secrets, indexed
// by namespace, so that GET requests never LIST the API server; plus read-your-writes waits for handlers that just
// changed something.
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
  agentTokenSecret(namespace: string, name: string): V1Secret | undefined;
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
  { kind: "Secret", apiVersion: "v1", labelSelector: `${AGENT_TOKEN_LABEL}=true` },
];

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

/** Informer-backed FacadeCache over every organisation namespace. */
export function createFacadeCache(
  kubeConfig: KubeConfig,
  opts: { syncTimeoutMs?: number; systemNamespace?: string } = {},
): FacadeCache {
  const client = new KubeClient(kubeConfig);
  const informers = new Map<CachedKind, Informer>();
  const indexes = new Map<CachedKind, NamespaceIndex>();
  const waiters = new Set<() => void>();
  let localCount: { at: number; count: number } | undefined;
  let version = 0;

  const systemNamespace = opts.systemNamespace ?? DEFAULT_SYSTEM_NAMESPACE;
  for (const source of [...SOURCES, designationSource(systemNamespace), priceBookSource(systemNamespace)]) {
    const informer = new Informer({
      client,
      apiVersion: source.apiVersion,
      kind: source.apiKind ?? source.kind,
      labelSelector: source.labelSelector,
      namespace: source.namespace,
      fieldSelector: source.fieldSelector,
    });
    const index = new NamespaceIndex();
    informer.on((event) => {
      index.apply(event);
      version++;
      for (const w of [...waiters]) w();
    });
    informers.set(source.kind, informer);
    indexes.set(source.kind, index);
  }

  const index = (kind: CachedKind): NamespaceIndex => indexes.get(kind)!;
  const list = <T>(kind: CachedKind, namespace: string): T[] => index(kind).list(namespace) as unknown as T[];
  const get = <T>(kind: CachedKind, name: string, namespace?: string): T | undefined =>
    index(kind).get(namespace, name) as T | undefined;

  const holds = (
    kind: CachedKind,
    ref: { namespace?: string; name: string; resourceVersion: string | null },
  ): boolean => {
    const obj = get<KubeObject>(kind, ref.name, ref.namespace);
    return ref.resourceVersion === null ? obj === undefined : obj?.metadata?.resourceVersion === ref.resourceVersion;
  };

  return {
    hasSynced: () => [...informers.values()].every((i) => i.hasSynced()),
    version: () => version,
    clusters: (ns) => list<ManagedCluster>("ManagedCluster", ns),
    cluster: (ns, name) => get<ManagedCluster>("ManagedCluster", name, ns),
    allClusters: () => index("ManagedCluster").listAll() as unknown as ManagedCluster[],
    localClusterCount: () => {
      const at = index("ManagedCluster").version;
      if (localCount?.at !== at) {
        const all = index("ManagedCluster").listAll() as unknown as ManagedCluster[];
        localCount = { at, count: all.filter((c) => (c.spec?.mode ?? "local") === "local").length };
      }
      return localCount.count;
    },
    templates: (ns) => list<NodeTemplate>("NodeTemplate", ns),
    template: (ns, name) => get<NodeTemplate>("NodeTemplate", name, ns),
    policies: (ns) => list<OptimizationPolicy>("OptimizationPolicy", ns),
    hibernationSchedules: (ns) => list<HibernationSchedule>("HibernationSchedule", ns),
    auditEntries: (ns) => list<AuditEntry>("AuditEntry", ns),
    labExperiments: (ns) => list<LabExperiment>("LabExperiment", ns),
    agentActions: (ns) => list<AgentAction>("AgentAction", ns),
    agentTokenSecret: (ns, name) => get<V1Secret>("Secret", name, ns),
    localCluster: () => {
      const data = (index("ConfigMap").listAll()[0] as { data?: Record<string, string> } | undefined)?.data;
      return data?.namespace && data.name ? { namespace: data.namespace, name: data.name } : undefined;
    },
    priceBookConfigMaps: () => index("PriceBookConfigMap").listAll(),
    waitFor: async (kind, ref, timeoutMs = 3000) => {
      if (holds(kind, ref)) return true;
      return new Promise<boolean>((resolve) => {
        const check = (): void => {
          if (holds(kind, ref)) finish(true);
        };
        const timer = setTimeout(() => finish(false), timeoutMs);
        const finish = (ok: boolean): void => {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(ok);
        };
        waiters.add(check);
      });
    },
    start: async () => {
      for (const informer of informers.values()) informer.start();
      const synced = Promise.all([...informers.values()].map((i) => i.waitForSync()));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, opts.syncTimeoutMs ?? 30_000);
        timer.unref();
      });
      await Promise.race([synced, timeout]);
      clearTimeout(timer);
    },
    stop: async () => {
      await Promise.all([...informers.values()].map((i) => i.stop()));
      client.close();
    },
  };
}
