// EC2 adapters: instance shapes from DescribeInstanceTypes and the latest Linux Spot price per type and AZ.
import {
  DescribeInstanceTypesCommand,
  DescribeSpotPriceHistoryCommand,
  type EC2Client,
  type InstanceTypeInfo,
} from "@aws-sdk/client-ec2";
import { eniMaxPods, kubeReservedCpuMillicores } from "../catalog/index.js";
import type { Allocatable, CpuArch, InstanceShape, Price } from "../types.js";
import { withThrottlingRetry, type RetryOptions } from "./retry.js";

/** Karpenter's allocatable for AL2023 defaults: VM overhead 7.5 %, kube-reserved 11 MiB/pod + 255 MiB, eviction 100 MiB. */
export function karpenterAllocatable(vcpu: number, memoryMiB: number, maxPods: number): Allocatable {
  return {
    cpuMillicores: vcpu * 1000 - kubeReservedCpuMillicores(vcpu),
    memoryMiB: Math.floor(memoryMiB * 0.925 - (11 * maxPods + 255) - 100),
    pods: maxPods,
  };
}

function archOf(info: InstanceTypeInfo): CpuArch | undefined {
  const archs = info.ProcessorInfo?.SupportedArchitectures ?? [];
  if (archs.includes("arm64")) return "arm64";
  if (archs.includes("x86_64")) return "amd64";
  return undefined;
}

/** Shape of one DescribeInstanceTypes entry, or undefined for types Kubernetes nodes cannot use (e.g. i386, mac). */
export function shapeFromInstanceTypeInfo(info: InstanceTypeInfo): InstanceShape | undefined {
  const name = info.InstanceType;
  const arch = archOf(info);
  const vcpu = info.VCpuInfo?.DefaultVCpus;
  const memoryMiB = info.MemoryInfo?.SizeInMiB;
  const enis = info.NetworkInfo?.MaximumNetworkInterfaces;
  const ips = info.NetworkInfo?.Ipv4AddressesPerInterface;
  if (!name || !arch || !vcpu || !memoryMiB || !enis || !ips) return undefined;
  const [family, size = ""] = name.split(".") as [string, string?];
  const gpus = info.GpuInfo?.Gpus ?? [];
  const gpuCount = gpus.reduce((s, g) => s + (g.Count ?? 0), 0);
  return {
    name,
    family,
    category: family.replace(/\d.*$/, ""),
    generation: Number(family.match(/\d+/)?.[0] ?? 0),
    arch,
    vcpu,
    memoryMiB,
    bareMetal: info.BareMetal === true || size.startsWith("metal"),
    gpu: gpuCount > 0 ? { count: gpuCount, name: (gpus[0]!.Name ?? "gpu").toLowerCase(), memoryMiB: gpus[0]!.MemoryInfo?.SizeInMiB ?? 0 } : null,
    allocatable: karpenterAllocatable(vcpu, memoryMiB, eniMaxPods(enis, ips)),
  };
}

/** Every instance type of the region (follows NextToken to the end). */
export async function describeInstanceShapes(ec2: EC2Client, retry?: RetryOptions): Promise<Map<string, InstanceShape>> {
  const shapes = new Map<string, InstanceShape>();
  let token: string | undefined;
  do {
    const page = await withThrottlingRetry(() => ec2.send(new DescribeInstanceTypesCommand({ NextToken: token, MaxResults: 100 })), retry);
    for (const info of page.InstanceTypes ?? []) {
      const shape = shapeFromInstanceTypeInfo(info);
      if (shape) shapes.set(shape.name, shape);
    }
    token = page.NextToken || undefined;
  } while (token);
  return shapes;
}

/**
 * Latest Linux/UNIX Spot price per type and AZ. Asking from `now` makes EC2 return, per type and AZ,
 * the price in effect now; if several come back the newest timestamp wins.
 */
export async function describeLatestSpotPrices(ec2: EC2Client, now: Date, retry?: RetryOptions): Promise<Map<string, Map<string, Price>>> {
  const latest = new Map<string, Map<string, { usd: number; at: Date }>>();
  let token: string | undefined;
  do {
    const page = await withThrottlingRetry(
      () => ec2.send(new DescribeSpotPriceHistoryCommand({ ProductDescriptions: ["Linux/UNIX"], StartTime: now, NextToken: token, MaxResults: 1000 })),
      retry,
    );
    for (const p of page.SpotPriceHistory ?? []) {
      if (!p.InstanceType || !p.AvailabilityZone || !p.SpotPrice || !p.Timestamp) continue;
      const usd = Number(p.SpotPrice);
      if (!Number.isFinite(usd) || usd <= 0) continue;
      const byZone = latest.get(p.InstanceType) ?? new Map<string, { usd: number; at: Date }>();
      const seen = byZone.get(p.AvailabilityZone);
      if (!seen || p.Timestamp > seen.at) byZone.set(p.AvailabilityZone, { usd, at: p.Timestamp });
      latest.set(p.InstanceType, byZone);
    }
    token = page.NextToken || undefined;
  } while (token);
  const prices = new Map<string, Map<string, Price>>();
  for (const [type, byZone] of latest) {
    prices.set(type, new Map([...byZone].map(([zone, v]) => [zone, { usdPerHour: v.usd, source: "spot-history", asOf: v.at.toISOString() } as Price])));
  }
  return prices;
}
