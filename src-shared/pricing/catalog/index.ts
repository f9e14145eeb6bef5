// Builds a price book from the shipped offline catalog, computing allocatable the way Karpenter does (AL2023 defaults).
import type { Allocatable, InstanceShape, Price, PriceBook, SpotAdvice } from "../types.js";
import { CATALOG_ROWS, CATALOG_SNAPSHOT, type CatalogRow } from "./us-east-1.js";

/** VM overhead Karpenter subtracts from instance memory (VM_MEMORY_OVERHEAD_PERCENT default). */
const VM_MEMORY_OVERHEAD = 0.075;
const EVICTION_THRESHOLD_MIB = 100;
/** Graviton types come out 59 MiB lower in Karpenter's generated instance-type reference. */
const ARM64_EXTRA_MIB = 59;

/** Max pods with the VPC CNI without prefix delegation: ENIs × (IPv4 per ENI − 1) + 2. */
export function eniMaxPods(enis: number, ipsPerEni: number): number {
  return enis * (ipsPerEni - 1) + 2;
}

/** kube-reserved CPU: 6 % of the first core, 1 % of the second, 0.5 % of cores 3–4, 0.25 % of the rest. */
export function kubeReservedCpuMillicores(vcpu: number): number {
  const tiers: Array<[number, number]> = [
    [1, 60],
    [1, 10],
    [2, 5],
    [Infinity, 2.5],
  ];
  let left = vcpu;
  let reserved = 0;
  for (const [cores, perCore] of tiers) {
    const n = Math.min(left, cores);
    reserved += n * perCore;
    left -= n;
  }
  return reserved;
}

export function catalogAllocatable(row: CatalogRow): Allocatable {
  const pods = eniMaxPods(row.enis, row.ipsPerEni);
  const memoryMiB = row.memoryGiB * 1024;
  const kubeReservedMiB = 11 * pods + 255;
  const usable =
    Math.floor(memoryMiB * (1 - VM_MEMORY_OVERHEAD) - kubeReservedMiB - EVICTION_THRESHOLD_MIB) -
    (row.arch === "arm64" ? ARM64_EXTRA_MIB : 0);
  return { cpuMillicores: row.vcpu * 1000 - kubeReservedCpuMillicores(row.vcpu), memoryMiB: usable, pods };
}

function shape(row: CatalogRow): InstanceShape {
  const [family, size] = row.type.split(".") as [string, string];
  return {
    name: row.type,
    family,
    category: family.replace(/\d.*$/, ""),
    generation: Number(family.match(/\d+/)?.[0] ?? 0),
    arch: row.arch,
    vcpu: row.vcpu,
    memoryMiB: row.memoryGiB * 1024,
    bareMetal: size.startsWith("metal"),
    gpu: row.gpu ?? null,
    allocatable: catalogAllocatable(row),
  };
}

/** Price book of the offline catalog; every price is labelled "catalog-snapshot" with the snapshot date. */
export function loadCatalogPriceBook(region: string): PriceBook {
  if (region !== CATALOG_SNAPSHOT.region) {
    throw new Error(
      `the offline catalog only covers ${CATALOG_SNAPSHOT.region}; got region ${region} (give AWS credentials or --data DIR)`,
    );
  }
  const instanceTypes = new Map<string, InstanceShape>();
  const onDemand = new Map<string, Price>();
  const spot = new Map<string, Map<string, Price>>();
  const advice = new Map<string, SpotAdvice>();
  for (const row of CATALOG_ROWS) {
    instanceTypes.set(row.type, shape(row));
    onDemand.set(row.type, {
      usdPerHour: row.onDemandUsd,
      source: "catalog-snapshot",
      asOf: CATALOG_SNAPSHOT.onDemandAsOf,
    });
    const price: Price = { usdPerHour: row.spotUsd, source: "catalog-snapshot", asOf: CATALOG_SNAPSHOT.spotAsOf };
    spot.set(row.type, new Map(CATALOG_SNAPSHOT.zones.map((z) => [z, price])));
    advice.set(row.type, {
      savingsPct: Math.round(100 * (1 - row.spotUsd / row.onDemandUsd)),
      interruptionBucket: row.bucket,
    });
  }
  return { region, zones: [...CATALOG_SNAPSHOT.zones], instanceTypes, onDemand, spot, advice };
}
