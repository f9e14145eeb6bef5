// Small hand-made price books for optimizer tests: a few shapes whose optimal packings can be worked out by hand.
import type { InstanceShape, InterruptionBucket, Price, PriceBook } from "../pricing/types.js";

export interface FixtureType {
  name: string;
  cpuMillicores: number;
  memoryMiB: number;
  pods: number;
  onDemandUsd: number;
  /** zone -> spot price; omitted = no Spot offer */
  spotUsd?: Record<string, number>;
  arch?: "amd64" | "arm64";
  gpus?: number;
  bucket?: InterruptionBucket;
}

const asOf = "2026-01-01";

export function fixtureBook(types: FixtureType[]): PriceBook {
  const instanceTypes = new Map<string, InstanceShape>();
  const onDemand = new Map<string, Price>();
  const spot = new Map<string, Map<string, Price>>();
  const advice = new Map<string, { savingsPct: number; interruptionBucket: InterruptionBucket }>();
  for (const t of types) {
    const family = t.name.split(".")[0]!;
    instanceTypes.set(t.name, {
      name: t.name,
      family,
      category: family.replace(/\d.*$/, ""),
      generation: Number(family.match(/\d+/)?.[0] ?? 0),
      arch: t.arch ?? "amd64",
      vcpu: Math.ceil(t.cpuMillicores / 1000),
      memoryMiB: t.memoryMiB,
      bareMetal: false,
      gpu: t.gpus ? { count: t.gpus, name: "t4", memoryMiB: 16384 } : null,
      allocatable: { cpuMillicores: t.cpuMillicores, memoryMiB: t.memoryMiB, pods: t.pods },
    });
    onDemand.set(t.name, { usdPerHour: t.onDemandUsd, source: "pricing-api", asOf });
    if (t.spotUsd) {
      spot.set(
        t.name,
        new Map(
          Object.entries(t.spotUsd).map(([z, usd]) => [z, { usdPerHour: usd, source: "spot-history", asOf } as Price]),
        ),
      );
    }
    if (t.bucket !== undefined) advice.set(t.name, { savingsPct: 60, interruptionBucket: t.bucket });
  }
  return { region: "test-1", zones: ["z1", "z2"], instanceTypes, onDemand, spot, advice };
}
