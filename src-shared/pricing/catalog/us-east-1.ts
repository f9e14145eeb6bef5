// Hand-curated offline price table for us-east-1 (local mode without AWS credentials): 49 common types, x86, Graviton and GPU.
//
// On-Demand: AWS public Linux list prices, shared tenancy (as of the snapshot date below).
// Spot: typical us-east-1 Spot prices, rounded to 4 decimals from the Spot Instance Advisor's
// savings for each type (advisor feed of 2025-06-28); the interruption bucket is the advisor's.
// Shapes: vCPU, memory and the ENI limits (ENIs × IPv4 addresses per ENI) that set max pods.

export const CATALOG_SNAPSHOT = {
  region: "us-east-1",
  onDemandAsOf: "2026-07-20",
  spotAsOf: "2025-06-28",
  /** zones (AZ IDs) the catalog offers Spot in; the same price in each */
  zones: ["use1-az1", "use1-az2", "use1-az4"],
} as const;

export interface CatalogRow {
  type: string;
  vcpu: number;
  memoryGiB: number;
  arch: "amd64" | "arm64";
  enis: number;
  ipsPerEni: number;
  gpu?: { count: number; name: string; memoryMiB: number };
  onDemandUsd: number;
  spotUsd: number;
  /** Spot Instance Advisor interruption bucket 0..4 */
  bucket: 0 | 1 | 2 | 3 | 4;
}

const T4 = { count: 1, name: "t4", memoryMiB: 16384 };
const A10G = { count: 1, name: "a10g", memoryMiB: 24576 };

export const CATALOG_ROWS: CatalogRow[] = [
  { type: "m5.large", vcpu: 2, memoryGiB: 8, arch: "amd64", enis: 3, ipsPerEni: 10, onDemandUsd: 0.096, spotUsd: 0.0326, bucket: 3 },
  { type: "m5.xlarge", vcpu: 4, memoryGiB: 16, arch: "amd64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.192, spotUsd: 0.0653, bucket: 4 },
  { type: "m5.2xlarge", vcpu: 8, memoryGiB: 32, arch: "amd64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.384, spotUsd: 0.1766, bucket: 2 },
  { type: "m5.4xlarge", vcpu: 16, memoryGiB: 64, arch: "amd64", enis: 8, ipsPerEni: 30, onDemandUsd: 0.768, spotUsd: 0.3226, bucket: 3 },
  { type: "m6i.large", vcpu: 2, memoryGiB: 8, arch: "amd64", enis: 3, ipsPerEni: 10, onDemandUsd: 0.096, spotUsd: 0.0355, bucket: 2 },
  { type: "m6i.xlarge", vcpu: 4, memoryGiB: 16, arch: "amd64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.192, spotUsd: 0.0864, bucket: 1 },
  { type: "m6i.2xlarge", vcpu: 8, memoryGiB: 32, arch: "amd64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.384, spotUsd: 0.1613, bucket: 4 },
  { type: "m6i.4xlarge", vcpu: 16, memoryGiB: 64, arch: "amd64", enis: 8, ipsPerEni: 30, onDemandUsd: 0.768, spotUsd: 0.2611, bucket: 4 },
  { type: "m7i.large", vcpu: 2, memoryGiB: 8, arch: "amd64", enis: 3, ipsPerEni: 10, onDemandUsd: 0.1008, spotUsd: 0.0323, bucket: 3 },
  { type: "m7i.xlarge", vcpu: 4, memoryGiB: 16, arch: "amd64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.2016, spotUsd: 0.0948, bucket: 3 },
  { type: "m7i.2xlarge", vcpu: 8, memoryGiB: 32, arch: "amd64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.4032, spotUsd: 0.1532, bucket: 4 },
  { type: "m6a.large", vcpu: 2, memoryGiB: 8, arch: "amd64", enis: 3, ipsPerEni: 10, onDemandUsd: 0.0864, spotUsd: 0.0354, bucket: 1 },
  { type: "m6a.xlarge", vcpu: 4, memoryGiB: 16, arch: "amd64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.1728, spotUsd: 0.0743, bucket: 4 },
  { type: "m6a.2xlarge", vcpu: 8, memoryGiB: 32, arch: "amd64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.3456, spotUsd: 0.159, bucket: 4 },
  { type: "m6g.large", vcpu: 2, memoryGiB: 8, arch: "arm64", enis: 3, ipsPerEni: 10, onDemandUsd: 0.077, spotUsd: 0.0308, bucket: 2 },
  { type: "m6g.xlarge", vcpu: 4, memoryGiB: 16, arch: "arm64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.154, spotUsd: 0.0493, bucket: 1 },
  { type: "m6g.2xlarge", vcpu: 8, memoryGiB: 32, arch: "arm64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.308, spotUsd: 0.1109, bucket: 1 },
  { type: "m7g.large", vcpu: 2, memoryGiB: 8, arch: "arm64", enis: 3, ipsPerEni: 10, onDemandUsd: 0.0816, spotUsd: 0.0294, bucket: 2 },
  { type: "m7g.xlarge", vcpu: 4, memoryGiB: 16, arch: "arm64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.1632, spotUsd: 0.062, bucket: 1 },
  { type: "m7g.2xlarge", vcpu: 8, memoryGiB: 32, arch: "arm64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.3264, spotUsd: 0.1175, bucket: 1 },
  { type: "c5.large", vcpu: 2, memoryGiB: 4, arch: "amd64", enis: 3, ipsPerEni: 10, onDemandUsd: 0.085, spotUsd: 0.0349, bucket: 0 },
  { type: "c5.xlarge", vcpu: 4, memoryGiB: 8, arch: "amd64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.17, spotUsd: 0.0748, bucket: 0 },
  { type: "c5.2xlarge", vcpu: 8, memoryGiB: 16, arch: "amd64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.34, spotUsd: 0.1496, bucket: 1 },
  { type: "c5.4xlarge", vcpu: 16, memoryGiB: 32, arch: "amd64", enis: 8, ipsPerEni: 30, onDemandUsd: 0.68, spotUsd: 0.2312, bucket: 4 },
  { type: "c6i.large", vcpu: 2, memoryGiB: 4, arch: "amd64", enis: 3, ipsPerEni: 10, onDemandUsd: 0.085, spotUsd: 0.0315, bucket: 1 },
  { type: "c6i.xlarge", vcpu: 4, memoryGiB: 8, arch: "amd64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.17, spotUsd: 0.068, bucket: 3 },
  { type: "c6i.2xlarge", vcpu: 8, memoryGiB: 16, arch: "amd64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.34, spotUsd: 0.1666, bucket: 1 },
  { type: "c6g.large", vcpu: 2, memoryGiB: 4, arch: "arm64", enis: 3, ipsPerEni: 10, onDemandUsd: 0.068, spotUsd: 0.0279, bucket: 1 },
  { type: "c6g.xlarge", vcpu: 4, memoryGiB: 8, arch: "arm64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.136, spotUsd: 0.053, bucket: 1 },
  { type: "c6g.2xlarge", vcpu: 8, memoryGiB: 16, arch: "arm64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.272, spotUsd: 0.0925, bucket: 0 },
  { type: "c7g.large", vcpu: 2, memoryGiB: 4, arch: "arm64", enis: 3, ipsPerEni: 10, onDemandUsd: 0.0725, spotUsd: 0.037, bucket: 0 },
  { type: "c7g.xlarge", vcpu: 4, memoryGiB: 8, arch: "arm64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.145, spotUsd: 0.0551, bucket: 0 },
  { type: "c7g.2xlarge", vcpu: 8, memoryGiB: 16, arch: "arm64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.29, spotUsd: 0.0899, bucket: 0 },
  { type: "r5.large", vcpu: 2, memoryGiB: 16, arch: "amd64", enis: 3, ipsPerEni: 10, onDemandUsd: 0.126, spotUsd: 0.0504, bucket: 0 },
  { type: "r5.xlarge", vcpu: 4, memoryGiB: 32, arch: "amd64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.252, spotUsd: 0.0781, bucket: 3 },
  { type: "r5.2xlarge", vcpu: 8, memoryGiB: 64, arch: "amd64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.504, spotUsd: 0.1966, bucket: 4 },
  { type: "r6i.large", vcpu: 2, memoryGiB: 16, arch: "amd64", enis: 3, ipsPerEni: 10, onDemandUsd: 0.126, spotUsd: 0.0403, bucket: 4 },
  { type: "r6i.xlarge", vcpu: 4, memoryGiB: 32, arch: "amd64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.252, spotUsd: 0.1058, bucket: 4 },
  { type: "r6g.large", vcpu: 2, memoryGiB: 16, arch: "arm64", enis: 3, ipsPerEni: 10, onDemandUsd: 0.1008, spotUsd: 0.0302, bucket: 3 },
  { type: "r6g.xlarge", vcpu: 4, memoryGiB: 32, arch: "arm64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.2016, spotUsd: 0.0706, bucket: 4 },
  { type: "t3.medium", vcpu: 2, memoryGiB: 4, arch: "amd64", enis: 3, ipsPerEni: 6, onDemandUsd: 0.0416, spotUsd: 0.0183, bucket: 0 },
  { type: "t3.large", vcpu: 2, memoryGiB: 8, arch: "amd64", enis: 3, ipsPerEni: 12, onDemandUsd: 0.0832, spotUsd: 0.0316, bucket: 1 },
  { type: "t3.xlarge", vcpu: 4, memoryGiB: 16, arch: "amd64", enis: 4, ipsPerEni: 15, onDemandUsd: 0.1664, spotUsd: 0.0666, bucket: 2 },
  { type: "t4g.medium", vcpu: 2, memoryGiB: 4, arch: "arm64", enis: 3, ipsPerEni: 6, onDemandUsd: 0.0336, spotUsd: 0.0121, bucket: 4 },
  { type: "t4g.large", vcpu: 2, memoryGiB: 8, arch: "arm64", enis: 3, ipsPerEni: 12, onDemandUsd: 0.0672, spotUsd: 0.0188, bucket: 4 },
  { type: "g4dn.xlarge", vcpu: 4, memoryGiB: 16, arch: "amd64", enis: 3, ipsPerEni: 10, gpu: T4, onDemandUsd: 0.526, spotUsd: 0.1894, bucket: 3 },
  { type: "g4dn.2xlarge", vcpu: 8, memoryGiB: 32, arch: "amd64", enis: 3, ipsPerEni: 10, gpu: T4, onDemandUsd: 0.752, spotUsd: 0.2933, bucket: 4 },
  { type: "g5.xlarge", vcpu: 4, memoryGiB: 16, arch: "amd64", enis: 4, ipsPerEni: 15, gpu: A10G, onDemandUsd: 1.006, spotUsd: 0.4125, bucket: 4 },
  { type: "g5.2xlarge", vcpu: 8, memoryGiB: 32, arch: "amd64", enis: 4, ipsPerEni: 15, gpu: A10G, onDemandUsd: 1.212, spotUsd: 0.509, bucket: 3 },
];
