// Seeded workload families the optimizer was not tuned on, for the optimizer benchmark (and the tests' small instances).
import type { PodGroup } from "../../src-shared/optimizer/types.js";
import { rng } from "../support/rng.js";

interface Draw {
  r: () => number;
  logUniform(lo: number, hi: number): number;
  int(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
}

function draw(seed: number): Draw {
  const r = rng(seed);
  return {
    r,
    logUniform: (lo, hi) => Math.exp(Math.log(lo) + r() * (Math.log(hi) - Math.log(lo))),
    int: (lo, hi) => lo + Math.floor(r() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(r() * xs.length)]!,
  };
}

const round = (v: number, step: number): number => Math.max(step, Math.round(v / step) * step);
const app = (prefix: string, k: number): string => `${prefix}-${String(k).padStart(3, "0")}`;

/**
 * Many small pods: 300 apps of 1–5 replicas, CPU log-uniform 50–500 m (25 m steps), memory log-uniform
 * 256–2048 MiB (32 MiB steps). Small nodes fill by pod slots (a *.large holds 29 pods) and small remainders.
 */
export function manySmallPods(seed = 1): PodGroup[] {
  const d = draw(seed);
  return Array.from({ length: 300 }, (_, k) => ({
    app: app("small", k),
    cpuMillicores: round(d.logUniform(50, 500), 25),
    memoryMiB: round(d.logUniform(256, 2048), 32),
    count: d.int(1, 5),
  }));
}

/**
 * Few huge pods: 24 apps of 1–8 replicas, each pod 30–90 % of a 16 vCPU / 64 GiB node's allocatable
 * (CPU 4.6–13.9 vCPU in 100 m steps; memory 2–8 GiB per vCPU, at most 56 GiB, in 256 MiB steps).
 */
export function fewHugePods(seed = 2): PodGroup[] {
  const d = draw(seed);
  return Array.from({ length: 24 }, (_, k) => {
    const cpu = round(15_400 * (0.3 + 0.6 * d.r()), 100);
    return {
      app: app("huge", k),
      cpuMillicores: cpu,
      memoryMiB: Math.min(57_344, round((cpu / 1000) * d.logUniform(2048, 8192), 256)),
      count: d.int(1, 8),
    };
  });
}

/** Memory-heavy: 120 apps of 1–12 replicas, CPU log-uniform 250–2000 m (50 m steps), 8–16 GiB per vCPU (at most 48 GiB). */
export function memoryHeavy(seed = 3): PodGroup[] {
  const d = draw(seed);
  return Array.from({ length: 120 }, (_, k) => {
    const cpu = round(d.logUniform(250, 2000), 50);
    return {
      app: app("mem", k),
      cpuMillicores: cpu,
      memoryMiB: Math.min(49_152, round((cpu / 1000) * d.logUniform(8192, 16_384), 128)),
      count: d.int(1, 12),
    };
  });
}

const ARM_FAMILIES: readonly string[][] = [["m7g", "c7g"], ["r6g"], ["m6g", "m7g"], ["c6g", "c7g"]];
const X86_FAMILIES: readonly string[][] = [["m5", "m6i"], ["c6i"], ["r5", "r6i"], ["m6i", "c6i", "r6i"]];

/**
 * Mixed arm64/x86 with per-app node selectors: 200 apps of 1–10 replicas, CPU log-uniform 100–4000 m (50 m steps),
 * memory 1–8 MiB per millicore (64 MiB steps, 128 MiB–32 GiB). 35 % are pinned to arm64 and 30 % to amd64, and two
 * in three of those also to an instance-family list (e.g. m7g|c7g, c6i); the rest run anywhere.
 */
export function mixedArch(seed = 4): PodGroup[] {
  const d = draw(seed);
  return Array.from({ length: 200 }, (_, k) => {
    const cpu = round(d.logUniform(100, 4000), 50);
    const g: PodGroup = {
      app: app("mixed", k),
      cpuMillicores: cpu,
      memoryMiB: Math.min(32_768, round(cpu * d.logUniform(1, 8), 64)),
      count: d.int(1, 10),
    };
    const u = d.r();
    const pinFamilies = d.r() < 2 / 3;
    if (u < 0.35) {
      g.arch = "arm64";
      if (pinFamilies) g.families = d.pick(ARM_FAMILIES).slice();
    } else if (u < 0.65) {
      g.arch = "amd64";
      if (pinFamilies) g.families = d.pick(X86_FAMILIES).slice();
    }
    return g;
  });
}

export const FAMILIES: ReadonlyArray<{ name: string; pods: () => PodGroup[] }> = [
  { name: "many-small", pods: () => manySmallPods() },
  { name: "few-huge", pods: () => fewHugePods() },
  { name: "memory-heavy", pods: () => memoryHeavy() },
  { name: "mixed-arch", pods: () => mixedArch() },
];
