// EC2 adapters: instance shapes from DescribeInstanceTypes and the latest Linux Spot price per type and AZ.
import {
  DescribeInstanceTypesCommand,
  DescribeSpotPriceHistoryCommand,
  type EC2Client,
  type InstanceTypeInfo,
  type SpotPrice,
} from "@aws-sdk/client-ec2";
import { eniMaxPods, kubeReservedCpuMillicores } from "../allocatable.js";
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

function gpuOf(info: InstanceTypeInfo): InstanceShape["gpu"] {
  const gpus = info.GpuInfo?.Gpus ?? [];
  const count = gpus.reduce((s, g) => s + (g.Count ?? 0), 0);
  if (count === 0) return null;
  return { count, name: (gpus[0]!.Name ?? "gpu").toLowerCase(), memoryMiB: gpus[0]!.MemoryInfo?.SizeInMiB ?? 0 };
}

interface Basics {
  name: string;
  arch: CpuArch;
  vcpu: number;
  memoryMiB: number;
  maxPods: number;
}

function basicsOf(info: InstanceTypeInfo): Basics | undefined {
  const basics = {
    name: info.InstanceType,
    arch: archOf(info),
    vcpu: info.VCpuInfo?.DefaultVCpus,
    memoryMiB: info.MemoryInfo?.SizeInMiB,
    enis: info.NetworkInfo?.MaximumNetworkInterfaces,
    ips: info.NetworkInfo?.Ipv4AddressesPerInterface,
  };
  if (Object.values(basics).some((v) => !v)) return undefined;
  const b = basics as { name: string; arch: CpuArch; vcpu: number; memoryMiB: number; enis: number; ips: number };
  return { name: b.name, arch: b.arch, vcpu: b.vcpu, memoryMiB: b.memoryMiB, maxPods: eniMaxPods(b.enis, b.ips) };
}

/** Shape of one DescribeInstanceTypes entry, or undefined for types Kubernetes nodes cannot use (e.g. i386, mac). */
export function shapeFromInstanceTypeInfo(info: InstanceTypeInfo): InstanceShape | undefined {
  const b = basicsOf(info);
  if (!b) return undefined;
  const [family, size = ""] = b.name.split(".") as [string, string?];
  return {
    name: b.name,
    family,
    category: family.replace(/\d.*$/, ""),
    generation: Number(family.match(/\d+/)?.[0] ?? 0),
    arch: b.arch,
    vcpu: b.vcpu,
    memoryMiB: b.memoryMiB,
    bareMetal: info.BareMetal === true || size.startsWith("metal"),
    gpu: gpuOf(info),
    allocatable: karpenterAllocatable(b.vcpu, b.memoryMiB, b.maxPods),
  };
}

/** Every instance type of the region (follows NextToken to the end). */
export async function describeInstanceShapes(
  ec2: EC2Client,
  retry?: RetryOptions,
): Promise<Map<string, InstanceShape>> {
  const shapes = new Map<string, InstanceShape>();
  let token: string | undefined;
  do {
    const page = await withThrottlingRetry(
      () => ec2.send(new DescribeInstanceTypesCommand({ NextToken: token, MaxResults: 100 })),
      retry,
    );
    for (const info of page.InstanceTypes ?? []) {
      const shape = shapeFromInstanceTypeInfo(info);
      if (shape) shapes.set(shape.name, shape);
    }
    token = page.NextToken || undefined;
  } while (token);
  return shapes;
}

type Latest = Map<string, Map<string, { usd: number; at: Date }>>;

function keepLatest(latest: Latest, p: SpotPrice): void {
  const usd = Number(p.SpotPrice);
  // Prices are keyed by AZ id (use1-az1) where EC2 gives it: zone names map to different AZs in each account.
  const zone = p.AvailabilityZoneId || p.AvailabilityZone;
  if (!p.InstanceType || !zone || !p.Timestamp || !Number.isFinite(usd) || usd <= 0) return;
  const byZone = latest.get(p.InstanceType) ?? new Map<string, { usd: number; at: Date }>();
  const seen = byZone.get(zone);
  if (!seen || p.Timestamp > seen.at) byZone.set(zone, { usd, at: p.Timestamp });
  latest.set(p.InstanceType, byZone);
}

/**
 * Latest Linux/UNIX Spot price per type and AZ. Asking from `now` makes EC2 return, per type and AZ,
 * the price in effect now; if several come back the newest timestamp wins.
 */
export async function describeLatestSpotPrices(
  ec2: EC2Client,
  now: Date,
  retry?: RetryOptions,
): Promise<Map<string, Map<string, Price>>> {
  const latest: Latest = new Map();
  let token: string | undefined;
  do {
    const page = await withThrottlingRetry(
      () =>
        ec2.send(
          new DescribeSpotPriceHistoryCommand({
            ProductDescriptions: ["Linux/UNIX"],
            StartTime: now,
            NextToken: token,
            MaxResults: 1000,
          }),
        ),
      retry,
    );
    for (const p of page.SpotPriceHistory ?? []) keepLatest(latest, p);
    token = page.NextToken || undefined;
  } while (token);
  const prices = new Map<string, Map<string, Price>>();
  for (const [type, byZone] of latest) {
    prices.set(
      type,
      new Map(
        [...byZone].map(([zone, v]) => [
          zone,
          { usdPerHour: v.usd, source: "spot-history", asOf: v.at.toISOString() } as Price,
        ]),
      ),
    );
  }
  return prices;
}
