// Wires the price-book controller: one key per region of the managed clusters (their spec.region, else their nodes'
// region label); the key is the region's ConfigMap in the operator's namespace.
import type { ManagedCluster } from "../../../src-shared/crds/index.js";
import type { KubeClient, KubeObject } from "../../../src-shared/kube/index.js";
import { hasAwsCredentials } from "../../../src-shared/pricing/aws/credentials.js";
import { awsPriceFetcher } from "../../../src-shared/pricing/aws/fetcher.js";
import { priceBookConfigMapName } from "../../../src-shared/pricing/book.js";
import { keyOf, type ControllerManager, type KindRef } from "../../../src-shared/runtime/index.js";
import { DEFAULT_SYSTEM_NAMESPACE } from "../../../src-shared/tenancy/cluster-target.js";
import { priceBookConfigMaps } from "../../../src-shared/pricing/operator-prices.js";
import { createPriceBookReconciler, type PriceFetcher, type RefreshSchedule } from "./reconciler.js";
import { MANAGED_CLUSTER } from "../../../src-shared/crds/refs.js";

const NODE: KindRef = { apiVersion: "v1", kind: "Node" };
const REGION_LABEL = "topology.kubernetes.io/region";

export interface PriceBookControllerOptions {
  manager: ControllerManager;
  client: KubeClient;
  /** The operator's namespace, where the books live (SPOTOPT_SYSTEM_NAMESPACE). */
  systemNamespace?: string;
  /** AWS reads; default: the real SDK when the environment has AWS credentials, else none (the snapshot only). */
  fetcher?: PriceFetcher | null;
  schedule?: Partial<RefreshSchedule>;
  now?: () => Date;
}

function hoursFromEnv(env: NodeJS.ProcessEnv, name: string, fallbackHours: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallbackHours * 3_600_000;
  const hours = Number(raw);
  if (!Number.isFinite(hours) || hours <= 0)
    throw new Error(`${name} must be a positive number of hours, got ${JSON.stringify(raw)}`);
  return hours * 3_600_000;
}

/** On-Demand every 12 h and Spot every hour unless SPOTOPT_PRICE_REFRESH_HOURS / SPOTOPT_SPOT_PRICE_REFRESH_HOURS say otherwise. */
export function refreshScheduleFromEnv(env: NodeJS.ProcessEnv = process.env): RefreshSchedule {
  return {
    onDemandMs: hoursFromEnv(env, "SPOTOPT_PRICE_REFRESH_HOURS", 12),
    spotMs: hoursFromEnv(env, "SPOTOPT_SPOT_PRICE_REFRESH_HOURS", 1),
    backoffBaseMs: 30_000,
    jitter: 0.1,
  };
}

export function registerPriceBookController(options: PriceBookControllerOptions): void {
  const { manager, client } = options;
  const namespace = options.systemNamespace ?? DEFAULT_SYSTEM_NAMESPACE;
  const clusters = manager.informer<ManagedCluster>(MANAGED_CLUSTER);
  const nodes = manager.informer(NODE);
  const configMaps = manager.informer(priceBookConfigMaps(namespace));
  const regionKey = (region: string | undefined): string[] =>
    region ? [keyOf(namespace, priceBookConfigMapName(region))] : [];
  const regionsInUse = (): Set<string> => {
    const out = new Set<string>();
    for (const c of clusters.list()) if (c.spec?.region) out.add(c.spec.region);
    for (const n of nodes.list()) {
      const region = n.metadata?.labels?.[REGION_LABEL];
      if (region) out.add(region);
    }
    return out;
  };
  const fetcher =
    options.fetcher === undefined
      ? hasAwsCredentials()
        ? awsPriceFetcher()
        : undefined
      : (options.fetcher ?? undefined);
  manager.addController({
    name: "pricebook",
    forKind: priceBookConfigMaps(namespace),
    watches: [
      { ...MANAGED_CLUSTER, mapToKeys: (c) => regionKey((c as ManagedCluster).spec?.region) },
      { ...NODE, mapToKeys: (n: KubeObject) => regionKey(n.metadata?.labels?.[REGION_LABEL]) },
    ],
    initialKeys: () => [...regionsInUse()].flatMap(regionKey),
    reconcile: createPriceBookReconciler({
      client,
      configMaps,
      namespace,
      regionsInUse,
      fetcher,
      schedule: { ...refreshScheduleFromEnv(), ...options.schedule },
      now: options.now,
    }),
    concurrency: 2,
  });
}
