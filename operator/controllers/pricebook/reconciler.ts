// Price-book reconciler, one key per region: refreshes what is due from AWS (with jitter, and backoff after a
// failure), merges it over the snapshot and applies the region's ConfigMap only when the book changed.
import type { KubeClient, KubeObject } from "../../../src-shared/kube/index.js";
import {
  PRICE_BOOK_DATA_KEY,
  priceBookConfigMapName,
  type StoredBook,
  type StoredPrice,
} from "../../../src-shared/pricing/book.js";
import type { Price } from "../../../src-shared/pricing/types.js";
import { applyObject, splitKey, type Informer, type ReconcileResult } from "../../../src-shared/runtime/index.js";
import { bookSources, desiredConfigMap, mergedBook, type LiveParts, type PartErrors } from "./desired.js";

export const PRICEBOOK_FIELD_MANAGER = "spot-optimizer-pricebook";
const PREFIX = priceBookConfigMapName("");

/** What the book reads from AWS; undefined = no credentials (the snapshot only). */
export interface PriceFetcher {
  onDemand(region: string, now: Date): Promise<Map<string, Price>>;
  spot(region: string, now: Date): Promise<Map<string, Map<string, Price>>>;
}

export interface RefreshSchedule {
  onDemandMs: number;
  spotMs: number;
  /** First retry after a failed refresh; doubles per failure, capped at the part's interval. */
  backoffBaseMs: number;
  /** ± this fraction of random spread on every wait, so replicas and regions do not call AWS in step. */
  jitter: number;
}

export interface PriceBookReconcilerOptions {
  client: KubeClient;
  configMaps: Informer;
  namespace: string;
  /** Regions of the managed clusters (spec.region, else their nodes' region label). */
  regionsInUse: () => Set<string>;
  fetcher?: PriceFetcher;
  schedule: RefreshSchedule;
  now?: () => Date;
  random?: () => number;
}

type Part = "onDemand" | "spot";
const PARTS: readonly Part[] = ["onDemand", "spot"];
type Acc = { live: LiveParts; errors: PartErrors };

interface RegionState {
  nextAt: Partial<Record<Part, number>>;
  failures: Record<Part, number>;
  /** The ConfigMap version this process last wrote or found up to date: unchanged and nothing refreshed = no work. */
  checkedVersion?: string;
}

const priceOf = (p: StoredPrice): Price => ({ usdPerHour: p[0], source: p[1], asOf: p[2] });

function liveOnDemand(s: StoredBook): LiveParts["onDemand"] {
  const part = s.sources.onDemand;
  if (part.source !== "pricing-api" || !part.refreshedAt) return undefined;
  const prices = Object.entries(s.onDemand).filter(([, p]) => p[1] === "pricing-api");
  return { at: part.refreshedAt, prices: new Map(prices.map(([t, p]) => [t, priceOf(p)])) };
}

function liveSpot(s: StoredBook): LiveParts["spot"] {
  const part = s.sources.spot;
  if (part.source !== "spot-history" || !part.refreshedAt) return undefined;
  const prices = new Map<string, Map<string, Price>>();
  for (const [t, byZone] of Object.entries(s.spot)) {
    const zones = Object.entries(byZone).filter(([, p]) => p[1] === "spot-history");
    if (zones.length > 0) prices.set(t, new Map(zones.map(([z, p]) => [z, priceOf(p)])));
  }
  return { at: part.refreshedAt, prices };
}

/** The live parts and errors a stored book carries, so a restarted (or new) leader keeps them. */
function storedLive(cm: KubeObject | undefined): { live: LiveParts; errors: PartErrors } {
  const text = (cm as { data?: Record<string, string> } | undefined)?.data?.[PRICE_BOOK_DATA_KEY];
  if (text === undefined) return { live: {}, errors: {} };
  const s = JSON.parse(text) as StoredBook;
  const onDemand = liveOnDemand(s);
  const spot = liveSpot(s);
  const errors: PartErrors = {};
  for (const part of PARTS) if (s.sources[part].error) errors[part] = s.sources[part].error;
  return { live: { ...(onDemand ? { onDemand } : {}), ...(spot ? { spot } : {}) }, errors };
}

/** Live prices are dated by the refresh that read them: AWS said they were in effect then. */
function dated<T>(prices: Map<string, T>, at: string): Map<string, T> {
  const restamp = (v: unknown): unknown =>
    v instanceof Map ? new Map([...v].map(([k, x]) => [k, restamp(x)])) : { ...(v as Price), asOf: at };
  return new Map([...prices].map(([k, v]) => [k, restamp(v) as T]));
}

/** Reads one part from AWS into `live`; an empty answer is a failure (the last good prices stay). */
async function fetchPart(
  fetcher: PriceFetcher,
  job: { region: string; part: Part; at: Date; live: LiveParts },
): Promise<void> {
  const at = job.at.toISOString();
  if (job.part === "onDemand") {
    const prices = await fetcher.onDemand(job.region, job.at);
    if (prices.size === 0) throw new Error("the Pricing API returned no On-Demand prices for the region");
    job.live.onDemand = { prices: dated(prices, at), at };
    return;
  }
  const prices = await fetcher.spot(job.region, job.at);
  if (prices.size === 0) throw new Error("DescribeSpotPriceHistory returned no Spot prices for the region");
  job.live.spot = { prices: dated(prices, at), at };
}

/** One reconciler's options, clocks and per-region refresh state. */
interface BookContext {
  options: PriceBookReconcilerOptions;
  now: () => Date;
  random: () => number;
  states: Map<string, RegionState>;
}

/** One pass over one region's book. */
interface RegionJob {
  region: string;
  name: string;
  state: RegionState;
  acc: Acc;
}

function spread(ctx: BookContext, ms: number): number {
  const { jitter } = ctx.options.schedule;
  return Math.round(ms * (1 - jitter + 2 * jitter * ctx.random()));
}

function interval(ctx: BookContext, part: Part): number {
  return part === "onDemand" ? ctx.options.schedule.onDemandMs : ctx.options.schedule.spotMs;
}

async function refresh(ctx: BookContext, job: RegionJob, part: Part): Promise<void> {
  const { region, state, acc } = job;
  const at = ctx.now();
  try {
    await fetchPart(ctx.options.fetcher!, { region, part, at, live: acc.live });
    delete acc.errors[part];
    state.failures[part] = 0;
    state.nextAt[part] = at.getTime() + spread(ctx, interval(ctx, part));
  } catch (err) {
    const message = (err as Error).message.slice(0, 300);
    const seen = acc.errors[part];
    acc.errors[part] = { message, since: seen?.message === message ? seen.since : at.toISOString() };
    state.failures[part]++;
    const backoff = Math.min(interval(ctx, part), ctx.options.schedule.backoffBaseMs * 2 ** (state.failures[part] - 1));
    state.nextAt[part] = at.getTime() + spread(ctx, backoff);
  }
}

/** When a part is due: as scheduled in this process, else from the stored book's refresh time. */
function dueAt(ctx: BookContext, part: Part, state: RegionState, live: LiveParts): number {
  const scheduled = state.nextAt[part];
  if (scheduled !== undefined) return scheduled;
  const at = live[part]?.at;
  return at === undefined ? 0 : Date.parse(at) + interval(ctx, part);
}

/** Applies the merged book (zero writes when the ConfigMap already holds it); deletes it when nothing prices the region. */
async function write(ctx: BookContext, job: RegionJob, current?: KubeObject): Promise<KubeObject | undefined> {
  const { client, namespace } = ctx.options;
  const { region, name, state, acc } = job;
  const book = mergedBook(region, acc.live);
  if (!book) {
    if (current) await client.delete({ apiVersion: "v1", kind: "ConfigMap", namespace, name });
    return undefined;
  }
  const desired = desiredConfigMap({
    namespace,
    name,
    region,
    book,
    sources: bookSources(region, acc.live, acc.errors),
  });
  const applied = await applyObject(client, desired, {
    fieldManager: PRICEBOOK_FIELD_MANAGER,
    current: current ?? null,
  });
  state.checkedVersion = applied.object.metadata?.resourceVersion;
  return applied.object;
}

/** A region no cluster uses any more: its book goes. */
async function forget(ctx: BookContext, region: string, current: KubeObject | undefined): Promise<void> {
  ctx.states.delete(region);
  if (current)
    await ctx.options.client.delete({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: ctx.options.namespace,
      name: current.metadata!.name!,
    });
}

/** Refreshes the parts that are due; the number refreshed (or failed). */
async function refreshDue(ctx: BookContext, job: RegionJob): Promise<number> {
  if (!ctx.options.fetcher) return 0;
  const nowMs = ctx.now().getTime();
  const due = PARTS.filter((part) => dueAt(ctx, part, job.state, job.acc.live) <= nowMs);
  for (const part of due) await refresh(ctx, job, part);
  return due.length;
}

/** Come back when the next part is due (nothing to wait for without AWS). */
function nextCheck(ctx: BookContext, job: RegionJob): ReconcileResult | undefined {
  if (!ctx.options.fetcher) return undefined;
  const next = Math.min(...PARTS.map((p) => dueAt(ctx, p, job.state, job.acc.live)));
  return { requeueAfterMs: Math.max(1000, next - ctx.now().getTime()) };
}

async function reconcileBook(ctx: BookContext, key: string): Promise<ReconcileResult | void> {
  const { namespace, configMaps } = ctx.options;
  const { namespace: ns, name } = splitKey(key);
  if (ns !== namespace || !name.startsWith(PREFIX)) return;
  const region = name.slice(PREFIX.length);
  let current = configMaps.get(namespace, name);
  if (!ctx.options.regionsInUse().has(region)) return void (await forget(ctx, region, current));
  const state = ctx.states.get(region) ?? { nextAt: {}, failures: { onDemand: 0, spot: 0 } };
  ctx.states.set(region, state);
  const job: RegionJob = { region, name, state, acc: storedLive(current) };
  // The snapshot serves at once; AWS answers (or throttling backoff) come after.
  if (!current) current = await write(ctx, job);
  const due = await refreshDue(ctx, job);
  if (due > 0 || current?.metadata?.resourceVersion !== state.checkedVersion) await write(ctx, job, current);
  return nextCheck(ctx, job);
}

export function createPriceBookReconciler(
  options: PriceBookReconcilerOptions,
): (key: string) => Promise<ReconcileResult | void> {
  const ctx: BookContext = {
    options,
    now: options.now ?? ((): Date => new Date()),
    random: options.random ?? Math.random,
    states: new Map(),
  };
  return (key) => reconcileBook(ctx, key);
}
