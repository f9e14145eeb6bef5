import { describe, expect, it } from "vitest";
import { cpusAvailable } from "./threads.js";

/** A cgroup filesystem of these files. */
const fs =
  (files: Record<string, string>) =>
  (path: string): string | undefined =>
    files[path];

describe("cpusAvailable", () => {
  it("is the machine's count without a CPU limit (cgroup v2 max, v1 quota -1, or no cgroup files)", () => {
    expect(cpusAvailable(fs({ "/sys/fs/cgroup/cpu.max": "max 100000\n" }), 8)).toBe(8);
    expect(
      cpusAvailable(
        fs({ "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n" }),
        8,
      ),
    ).toBe(8);
    expect(cpusAvailable(fs({}), 4)).toBe(4);
  });

  it("is a container's limit where it is lower: cgroup v2 cpu.max, else v1's quota over period", () => {
    expect(cpusAvailable(fs({ "/sys/fs/cgroup/cpu.max": "100000 100000\n" }), 8)).toBe(1);
    expect(cpusAvailable(fs({ "/sys/fs/cgroup/cpu.max": "250000 100000" }), 8)).toBe(2.5);
    expect(cpusAvailable(fs({ "/sys/fs/cgroup/cpu.max": "50000 100000" }), 8)).toBe(1);
    expect(
      cpusAvailable(
        fs({ "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "150000", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000" }),
        8,
      ),
    ).toBe(1.5);
    // A limit above the machine's CPUs does not add any.
    expect(cpusAvailable(fs({ "/sys/fs/cgroup/cpu.max": "1600000 100000" }), 2)).toBe(2);
  });

  it("finds the limit of the process's own cgroup or an ancestor's (a systemd unit, a nested v2 path, v1 cpu,cpuacct)", () => {
    const v2 = {
      "/proc/self/cgroup": "0::/system.slice/spotctl.service\n",
      "/sys/fs/cgroup/system.slice/spotctl.service/cpu.max": "max 100000",
      "/sys/fs/cgroup/system.slice/cpu.max": "150000 100000",
      "/sys/fs/cgroup/cpu.max": "max 100000",
    };
    expect(cpusAvailable(fs(v2), 8)).toBe(1.5);
    const v1 = {
      "/proc/self/cgroup": "12:memory:/kubepods/pod1\n4:cpu,cpuacct:/kubepods/pod1/ctr\n",
      "/sys/fs/cgroup/cpu,cpuacct/kubepods/pod1/ctr/cpu.cfs_quota_us": "100000",
      "/sys/fs/cgroup/cpu,cpuacct/kubepods/pod1/ctr/cpu.cfs_period_us": "100000",
    };
    expect(cpusAvailable(fs(v1), 8)).toBe(1);
  });

  it("reads this machine without failing", () => {
    expect(cpusAvailable()).toBeGreaterThanOrEqual(1);
  });
});
