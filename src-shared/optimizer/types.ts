// Optimizer input and output: pod shapes with counts in, nodes with their pods, cost, baseline and savings out.
import type { CpuArch, InstanceShape, InterruptionBucket, Price, PriceSource } from "../pricing/types.js";

/** Identical pods grouped as one shape with a count: the optimizer works on shapes × counts, never pod by pod. */
export interface PodGroup {
  app: string;
  cpuMillicores: number;
  memoryMiB: number;
  count: number;
  /** Whole GPU devices per pod (nvidia.com/gpu is an integer resource); 0 or absent = no GPU */
  gpus?: number;
  /** Node architecture the pod requires */
  arch?: CpuArch;
  /** AZ the pod is pinned to (e.g. by a volume) */
  zone?: string;
  /** Instance families ("m6i") or categories ("m") the pod is restricted to (a node selector); absent = any */
  families?: string[];
}

export type Strategy = "lowest-price" | "capacity-optimized" | "price-capacity-optimized";
export type CapacityMode = "spot" | "on-demand" | "mixed";
export type CapacityType = "spot" | "on-demand";

export interface OptimizerPolicy {
  strategy: Strategy;
  capacity: CapacityMode;
  /** With capacity "spot": pods that no Spot offer can hold go to On-Demand instead of being unplaced */
  spotFallback: boolean;
  /** Allowed instance families ("m6i") or categories ("m"); empty = all */
  families: string[];
  /** Allowed architectures; empty = both */
  arch: CpuArch[];
  /** Spot nodes should span at least this many instance types (interruption blast radius); 0 or 1 = no constraint */
  minTypeDiversity: number;
  /** Predicate over instance shapes applied on top of the other filters (e.g. a NodePool's requirements) */
  allowType?: (shape: InstanceShape) => boolean;
}

export const DEFAULT_POLICY: OptimizerPolicy = {
  strategy: "lowest-price",
  capacity: "spot",
  spotFallback: true,
  families: [],
  arch: [],
  minTypeDiversity: 0,
};

/** One purchasable node: an instance type in a capacity type and zone at a price. */
export interface Offer {
  shape: InstanceShape;
  capacityType: CapacityType;
  zone: string;
  price: Price;
  /** On-Demand price of the same type, for the baseline */
  onDemand: Price;
  interruptionBucket: InterruptionBucket | null;
  /** What the optimizer minimises for this strategy (equals price for lowest-price) */
  weightUsdPerHour: number;
}

export interface PlacedPods {
  app: string;
  cpuMillicores: number;
  memoryMiB: number;
  gpus: number;
  count: number;
}

export interface PlannedNode {
  instanceType: string;
  capacityType: CapacityType;
  zone: string;
  hourlyUsd: number;
  onDemandHourlyUsd: number;
  priceSource: PriceSource;
  priceAsOf: string;
  allocatable: { cpuMillicores: number; memoryMiB: number; pods: number; gpus: number };
  pods: PlacedPods[];
}

export interface UnplacedPods {
  app: string;
  cpuMillicores: number;
  memoryMiB: number;
  gpus: number;
  count: number;
  reason: string;
}

export interface Plan {
  nodes: PlannedNode[];
  hourlyCostUsd: number;
  /** Same nodes, every one On-Demand */
  baselineHourlyCostUsd: number;
  /** against the baseline, in percent; null when there is no baseline (no nodes): 0 ÷ 0 is no saving of 0 % */
  savingsPct: number | null;
  unplaced: UnplacedPods[];
  warnings: string[];
}
