// What the resource services work with for one request: the caller's organisation namespace and clock, the read
// cache, the facade's one writer and the operator's price book. Built once per facade from its parts.
import type { Logger } from "pino";
import { API_VERSION } from "../../../src-shared/crds/index.js";
import type { KubeClient } from "../../../src-shared/kube/client.js";
import type { PriceBook } from "../../../src-shared/fleet/fleet-metrics.js";
import { storedRegionPrices } from "../../../src-shared/pricing/book.js";
import { isStale } from "../../../src-shared/pricing/freshness.js";
import type { RegionPrices } from "../../../src-shared/pricing/region-prices.js";
import type { CachedKind, FacadeCache } from "../cache.js";
import type { FacadeConfig } from "../config.js";
import { NotReadyError, UnauthorizedError } from "../errors.js";
import type { AuthContext } from "../http.js";
import { createKubeWriter, type KubeWriter, type ObjectRef } from "./k8s-writes.js";

export interface ResourceContext {
  cache: FacadeCache;
  writer: KubeWriter;
  config: FacadeConfig;
  logger?: Logger | undefined;
  namespace: string;
  now: Date;
  /** The price book for a cluster's region (docs/facade-metrics.md, "Money"); undefined = not priced here. */
  priceBookFor: (region: string | undefined) => PriceBook | undefined;
  /** The caller's chosen cluster (PATCH /settings/context), if any. */
  activeClusterId?: string;
  /** Whether a price of this date is older than the configured maximum age (SPOTOPT_PRICE_MAX_AGE_HOURS). */
  isStale: (asOf: string | null | undefined) => boolean;
}

/** The parts a facade's resource services are built from. */
export interface ResourceParts {
  cache: FacadeCache;
  client: KubeClient;
  config: FacadeConfig;
  now: () => Date;
  logger?: Logger | undefined;
}

export interface ResourceScope {
  readonly parts: ResourceParts;
  readonly writer: KubeWriter;
  /** Everything a handler needs, for the caller's organisation namespace only (503 until the cache has synced). */
  context(auth: AuthContext | undefined): ResourceContext;
}

export function createResourceScope(parts: ResourceParts): ResourceScope {
  const writer = createKubeWriter(parts.client);
  const prices = storedRegionPrices({
    configMaps: () => parts.cache.priceBookConfigMaps(),
    namespace: parts.config.systemNamespace,
    maxAgeMs: parts.config.priceMaxAgeMs,
    now: parts.now,
  });
  return {
    parts,
    writer,
    context: (auth) => {
      if (!parts.cache.hasSynced()) throw new NotReadyError("caches not synced yet");
      const namespace = auth?.namespace;
      if (!namespace) throw new UnauthorizedError("token carries no organisation");
      const now = parts.now();
      const activeClusterId = auth?.activeClusterId;
      return {
        cache: parts.cache,
        writer,
        config: parts.config,
        logger: parts.logger,
        namespace,
        now,
        priceBookFor: (region) => priceBookFor(prices, region),
        isStale: (asOf) => isStale(asOf, now.getTime(), parts.config.priceMaxAgeMs),
        ...(activeClusterId ? { activeClusterId } : {}),
      };
    },
  };
}

/** A cluster's region's book from the operator's price book; nothing for a cluster without a region or prices. */
export function priceBookFor(prices: RegionPrices, region: string | undefined): PriceBook | undefined {
  return prices(region).book;
}

export function crRef(kind: string, namespace: string, name: string): ObjectRef {
  return { apiVersion: API_VERSION, kind, namespace, name };
}

/** Waits until the cache reflects a write so the next GET sees it (bounded; the write itself already succeeded). */
export async function settle(
  rc: ResourceContext,
  kind: CachedKind,
  obj: { metadata?: { name?: string; resourceVersion?: string } } | null,
  ref?: { name: string },
): Promise<void> {
  const name = obj?.metadata?.name ?? ref?.name ?? "";
  await rc.cache.waitFor(kind, {
    namespace: rc.namespace,
    name,
    resourceVersion: obj?.metadata?.resourceVersion ?? null,
  });
}

/** Spec of an object for audit before/after (metadata noise left out). */
export function specOf(obj: { spec?: unknown } | undefined): Record<string, unknown> | undefined {
  return obj?.spec === undefined ? undefined : (JSON.parse(JSON.stringify(obj.spec)) as Record<string, unknown>);
}
