// The facade's read model: informer caches over our custom resources, nodes, pods and agent-token Secrets, so that
// GET requests never LIST the API server, plus read-your-writes waits for handlers that just changed something.
import {
  CoreV1Api,
  CustomObjectsApi,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
  type V1Node,
  type V1Pod,
  type V1Secret,
} from "@kubernetes/client-node";
import type express from "express";
import {
  GROUP,
  VERSION,
  type AuditEntry,
  type HibernationSchedule,
  type LabExperiment,
  type ManagedCluster,
  type NodeTemplate,
  type OptimizationPolicy,
} from "../../src-shared/crds/index.js";
import type { FacadeCacheBase, FacadeDeps } from "./app.js";
import { NotReadyError } from "./errors.js";

/** Label on the Secrets that hold agent-token hashes (the only Secrets the facade caches). */
export const AGENT_TOKEN_LABEL = "spotoptimizer.io/agent-token";

export type CachedKind =
  | "ManagedCluster"
  | "NodeTemplate"
  | "OptimizationPolicy"
  | "HibernationSchedule"
  | "AuditEntry"
  | "LabExperiment"
  | "Node"
  | "Pod"
  | "Secret";

export interface FacadeCache extends FacadeCacheBase {
  hasSynced(): boolean;
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
  nodes(): V1Node[];
  pods(): V1Pod[];
  agentTokenSecret(namespace: string, name: string): V1Secret | undefined;
  /**
   * Resolves once the cache holds `name` at `resourceVersion` (or, with null, no longer holds it), or after
   * `timeoutMs`: lets a handler answer only when a following GET will see its write.
   */
  waitFor(kind: CachedKind, ref: { namespace?: string; name: string; resourceVersion: string | null }, timeoutMs?: number): Promise<boolean>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

type AnyInformer = Informer<KubernetesObject> & ObjectCache<KubernetesObject> & { latestResourceVersion?: () => string };

interface KindSource {
  kind: CachedKind;
  path: string;
  list: () => Promise<KubernetesListObject<KubernetesObject>>;
  labelSelector?: string;
}

const CRD_PLURALS: Array<[CachedKind, string]> = [
  ["ManagedCluster", "managedclusters"],
  ["NodeTemplate", "nodetemplates"],
  ["OptimizationPolicy", "optimizationpolicies"],
  ["HibernationSchedule", "hibernationschedules"],
  ["AuditEntry", "auditentries"],
  ["LabExperiment", "labexperiments"],
];

function sources(kc: KubeConfig): KindSource[] {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const crds: KindSource[] = CRD_PLURALS.map(([kind, plural]) => ({
    kind,
    path: `/apis/${GROUP}/${VERSION}/${plural}`,
    list: async () =>
      (await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural })) as KubernetesListObject<KubernetesObject>,
  }));
  return [
    ...crds,
    { kind: "Node", path: "/api/v1/nodes", list: async () => core.listNode() },
    { kind: "Pod", path: "/api/v1/pods", list: async () => core.listPodForAllNamespaces() },
    {
      kind: "Secret",
      path: "/api/v1/secrets",
      labelSelector: `${AGENT_TOKEN_LABEL}=true`,
      list: async () => core.listSecretForAllNamespaces({ labelSelector: `${AGENT_TOKEN_LABEL}=true` }),
    },
  ];
}

const RESTART_DELAY_MS = 1000;

function byName<T extends KubernetesObject>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
}

/** Informer-backed FacadeCache over every organisation namespace. */
export function createFacadeCache(kubeConfig: KubeConfig): FacadeCache {
  const informers = new Map<CachedKind, AnyInformer>();
  const synced = new Set<CachedKind>();
  const waiters = new Set<() => void>();
  let stopped = false;

  const changes = new Map<CachedKind, number>();
  const notify = (): void => {
    for (const w of [...waiters]) w();
  };
  let localCount: { at: number; count: number } | undefined;
  // start() resolves even when the initial LIST failed (the error goes to the error callbacks), so a kind counts as
  // synced only once a list has produced a resourceVersion.
  const startOne = async (kind: CachedKind, informer: AnyInformer): Promise<void> => {
    await informer.start();
    if ((informer.latestResourceVersion?.() ?? "") !== "") synced.add(kind);
    notify();
  };

  for (const source of sources(kubeConfig)) {
    const informer = makeInformer(kubeConfig, source.path, source.list, source.labelSelector) as AnyInformer;
    const changed = (): void => {
      changes.set(source.kind, (changes.get(source.kind) ?? 0) + 1);
      notify();
    };
    informer.on("add", changed);
    informer.on("update", changed);
    informer.on("delete", changed);
    informer.on("error", () => {
      // client-node stops the informer on an error; start it again (relist) unless we are shutting down.
      if (stopped) return;
      setTimeout(() => {
        if (!stopped) startOne(source.kind, informer).catch(() => undefined);
      }, RESTART_DELAY_MS).unref();
    });
    informers.set(source.kind, informer);
  }

  const list = <T>(kind: CachedKind, namespace?: string): T[] =>
    byName(informers.get(kind)?.list(namespace) ?? []) as T[];
  const get = <T>(kind: CachedKind, name: string, namespace?: string): T | undefined =>
    informers.get(kind)?.get(name, namespace) as T | undefined;

  const holds = (kind: CachedKind, ref: { namespace?: string; name: string; resourceVersion: string | null }): boolean => {
    const obj = get<KubernetesObject>(kind, ref.name, ref.namespace);
    return ref.resourceVersion === null ? obj === undefined : obj?.metadata?.resourceVersion === ref.resourceVersion;
  };

  return {
    hasSynced: () => synced.size === informers.size,
    clusters: (ns) => list<ManagedCluster>("ManagedCluster", ns),
    cluster: (ns, name) => get<ManagedCluster>("ManagedCluster", name, ns),
    allClusters: () => list<ManagedCluster>("ManagedCluster"),
    localClusterCount: () => {
      const at = changes.get("ManagedCluster") ?? 0;
      if (localCount?.at !== at) {
        const all = (informers.get("ManagedCluster")?.list() ?? []) as ManagedCluster[];
        localCount = { at, count: all.filter((c) => (c.spec?.mode ?? "local") === "local").length };
      }
      return localCount.count;
    },
    templates: (ns) => list<NodeTemplate>("NodeTemplate", ns),
    template: (ns, name) => get<NodeTemplate>("NodeTemplate", name, ns),
    policies: (ns) => list<OptimizationPolicy>("OptimizationPolicy", ns),
    hibernationSchedules: (ns) => list<HibernationSchedule>("HibernationSchedule", ns),
    auditEntries: (ns) => [...(informers.get("AuditEntry")?.list(ns) ?? [])] as AuditEntry[],
    labExperiments: (ns) => list<LabExperiment>("LabExperiment", ns),
    nodes: () => [...(informers.get("Node")?.list() ?? [])] as V1Node[],
    pods: () => [...(informers.get("Pod")?.list() ?? [])] as V1Pod[],
    agentTokenSecret: (ns, name) => get<V1Secret>("Secret", name, ns),
    waitFor: async (kind, ref, timeoutMs = 3000) => {
      if (holds(kind, ref)) return true;
      return new Promise<boolean>((resolve) => {
        const check = (): void => {
          if (!holds(kind, ref)) return;
          finish(true);
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
      stopped = false;
      await Promise.all([...informers].map(([kind, informer]) => startOne(kind, informer)));
    },
    stop: async () => {
      stopped = true;
      await Promise.all([...informers.values()].map((i) => i.stop()));
    },
  };
}

/** The facade deps a resource route needs; createFacadeApp puts them in app.locals.facadeDeps. */
export function resourceDeps(req: express.Request): FacadeDeps<FacadeCache> {
  const deps = (req.app.locals as { facadeDeps?: FacadeDeps<FacadeCache> }).facadeDeps;
  if (!deps) throw new NotReadyError("facade dependencies are not wired");
  if (!deps.cache.hasSynced()) throw new NotReadyError("caches not synced yet");
  return deps;
}
