// Karpenter's allocatable arithmetic, checked against Karpenter's own instance-type table in ../shared/data.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { describeWithSharedData, sharedDataDir } from "../../test/support/shared-data.js";
import { karpenterAllocatable } from "./aws/ec2.js";
import { eniMaxPods, kubeReservedCpuMillicores } from "./allocatable.js";

/** ENI limits from EC2 DescribeInstanceTypes (MaximumNetworkInterfaces, Ipv4AddressesPerInterface). */
const ROWS = [
  { type: "m5.large", vcpu: 2, memoryMiB: 8192, enis: 3, ips: 10 },
  { type: "m5.4xlarge", vcpu: 16, memoryMiB: 65536, enis: 8, ips: 30 },
  { type: "c5.xlarge", vcpu: 4, memoryMiB: 8192, enis: 4, ips: 15 },
  { type: "r5.2xlarge", vcpu: 8, memoryMiB: 65536, enis: 4, ips: 15 },
];

describeWithSharedData("Karpenter allocatable", () => {
  it("matches Karpenter's table: CPU and pods exact, memory within 1 MiB", () => {
    const reference = JSON.parse(readFileSync(join(sharedDataDir, "ec2-instance-types.json"), "utf8")).instanceTypes;
    for (const row of ROWS) {
      const ref = reference[row.type].allocatable;
      const got = karpenterAllocatable(row.vcpu, row.memoryMiB, eniMaxPods(row.enis, row.ips));
      expect(got.cpuMillicores, row.type).toBe(ref.cpuMillicores);
      expect(got.pods, row.type).toBe(ref.pods);
      expect(Math.abs(got.memoryMiB - ref.memoryMiB), row.type).toBeLessThanOrEqual(1);
    }
    expect(kubeReservedCpuMillicores(1)).toBe(60);
  });
});
