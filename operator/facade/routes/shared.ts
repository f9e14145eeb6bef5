// Helpers shared by the resource routes: deps and writer lookup, CR references, read-your-writes and common schemas.
import type { KubeConfig } from "@kubernetes/client-node";
import type express from "express";
import { z } from "zod";
import { API_VERSION, objectName } from "../../../src-shared/crds/index.js";
import type { FacadeDeps } from "../app.js";
import { resourceDeps, type CachedKind, type FacadeCache } from "../cache.js";
import type { AuthContext } from "../http.js";
import { UnauthorizedError } from "../errors.js";
import { isStale } from "../../../src-shared/pricing/freshness.js";
import { storedRegionPrices } from "../../../src-shared/pricing/book.js";
import type { RegionPrices } from "../../../src-shared/pricing/region-prices.js";
import type { PriceBook } from "../../../src-shared/fleet/fleet-metrics.js";
import { createKubeWriter, type KubeWriter, type ObjectRef } from "../services/k8s-writes.js";

const writers = new WeakMap<KubeConfig, KubeWriter>();

export interface ResourceContext {
  deps: FacadeDeps<FacadeCache>;
  cache: FacadeCache;
  writer: KubeWriter;
  namespace: string;
  now: Date;
  /** The price book for a cluster's region (docs/facade-metrics.md, "Money"); undefined = not priced here. */
  priceBookFor: (region: string | undefined) => PriceBook | undefined;
  /** The caller's chosen cluster (PATCH /settings/context), if any. */
  activeClusterId?: string;
  /** Whether a price of this date is older than the configured maximum age (SPOTOPT_PRICE_MAX_AGE_HOURS). */
  isStale: (asOf: string | null | undefined) => boolean;
}

/** Everything a handler needs, for the caller's organisation namespace only. */
export function resourceContext(ctx: { req: express.Request; auth: AuthContext | undefined }): ResourceContext {
  const deps = resourceDeps(ctx.req);
  const namespace = ctx.auth?.namespace;
  if (!namespace) throw new UnauthorizedError("token carries no organisation");
  let writer = writers.get(deps.kubeConfig);
  if (!writer) {
    writer = createKubeWriter(deps.kubeConfig);
    writers.set(deps.kubeConfig, writer);
  }
  const prices = facadePrices(deps);
  const activeClusterId = ctx.auth?.activeClusterId;
  const now = deps.now();
  return {
    deps,
    cache: deps.cache,
    writer,
    namespace,
    now,
    priceBookFor: (region) => priceBookFor(prices, region),
    isStale: (asOf) => isStale(asOf, now.getTime(), deps.config.priceMaxAgeMs),
    ...(activeClusterId ? { activeClusterId } : {}),
  };
}

const readers = new WeakMap<FacadeCache, RegionPrices>();

/** The operator's price book as this facade's cache holds it (the shipped snapshot until a region's book exists). */
export function facadePrices(deps: FacadeDeps<FacadeCache>): RegionPrices {
  let reader = readers.get(deps.cache);
  if (!reader) {
    reader = storedRegionPrices({
      configMaps: () => deps.cache.priceBookConfigMaps(),
      namespace: deps.config.systemNamespace,
      maxAgeMs: deps.config.priceMaxAgeMs,
      now: deps.now,
    });
    readers.set(deps.cache, reader);
  }
  return reader;
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

/** A cluster id as the API takes it: the ManagedCluster's name. */
export const ClusterId = objectName("Cluster id (the ManagedCluster's name).");

export const IdParams = z.object({ id: objectName("Object id (its name).") }).strict();

export const Success = z.object({ success: z.boolean() });

/** Spec of an object for audit before/after (metadata noise left out). */
export function specOf(obj: { spec?: unknown } | undefined): Record<string, unknown> | undefined {
  return obj?.spec === undefined ? undefined : (JSON.parse(JSON.stringify(obj.spec)) as Record<string, unknown>);
}
