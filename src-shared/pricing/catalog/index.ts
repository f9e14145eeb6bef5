// The offline price book under its former name: the generated snapshot (src-shared/pricing/snapshot) answers it.
import type { PriceBook } from "../types.js";
import { loadSnapshotPriceBook } from "../snapshot/index.js";

export { eniMaxPods, kubeReservedCpuMillicores } from "../allocatable.js";

/** The shipped snapshot's price book for a region; throws for a region without one. */
export function loadCatalogPriceBook(region: string): PriceBook {
  return loadSnapshotPriceBook(region);
}
