// The operator's one price book as its controllers read it: the price-book ConfigMaps from the manager's shared
// informer (the shipped snapshot until a region's book is written), one reader per manager.
import { PRICE_BOOK_LABEL, storedRegionPrices } from "./book.js";
import { priceMaxAgeMs } from "./freshness.js";
import type { RegionPrices } from "./region-prices.js";
import type { PriceBook } from "./types.js";
import type { ControllerManager, KindRef } from "../runtime/index.js";
import { DEFAULT_SYSTEM_NAMESPACE } from "../tenancy/cluster-target.js";

/** The price-book ConfigMaps: label-selected, of the system namespace only (not every ConfigMap of the cluster). */
export function priceBookConfigMaps(systemNamespace: string = DEFAULT_SYSTEM_NAMESPACE): KindRef {
  return { apiVersion: "v1", kind: "ConfigMap", labelSelector: PRICE_BOOK_LABEL, namespace: systemNamespace };
}

const readers = new WeakMap<ControllerManager, RegionPrices>();

/** The region books every controller of this manager prices with (created once per manager). */
export function operatorPrices(
  manager: ControllerManager,
  opts: { systemNamespace?: string; now?: () => Date } = {},
): RegionPrices {
  let reader = readers.get(manager);
  if (!reader) {
    const informer = manager.informer(priceBookConfigMaps(opts.systemNamespace));
    reader = storedRegionPrices({
      configMaps: () => informer.list(),
      namespace: opts.systemNamespace ?? DEFAULT_SYSTEM_NAMESPACE,
      maxAgeMs: priceMaxAgeMs(),
      now: opts.now ?? ((): Date => new Date()),
    });
    readers.set(manager, reader);
  }
  return reader;
}

/** The book of a region, or undefined where nothing prices it. */
export function bookOf(prices: RegionPrices): (region: string) => PriceBook | undefined {
  return (region) => prices(region).book;
}
