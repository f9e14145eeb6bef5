// Parses pod-shape CSV files (the public workload trace's columns) into pod groups, naming the line and field on bad input.
import { parseCpuArch } from "../pricing/types.js";
import type { PodGroup } from "./types.js";

export class PodsCsvError extends Error {
  override name = "PodsCsvError";
}

const REQUIRED = ["app", "cpu_millicores", "memory_mib", "count"] as const;
const OPTIONAL = ["num_gpu", "gpu_milli", "qos", "arch", "families"] as const;
/** QoS classes a row may name: Kubernetes' own and the Koordinator classes the public trace uses. */
export const KNOWN_QOS = ["Guaranteed", "Burstable", "BestEffort", "LSE", "LSR", "LS", "BE", "SYSTEM"] as const;

function intField(value: string, where: string, min: number): number {
  if (!/^\d+$/.test(value.trim()))
    throw new PodsCsvError(`${where}: expected an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  const n = Number(value.trim());
  if (n < min) throw new PodsCsvError(`${where}: expected an integer ≥ ${min}, got ${n}`);
  return n;
}

function checkHeader(header: string[], file: string): void {
  const rest = header.slice(REQUIRED.length);
  const ok =
    REQUIRED.every((h, k) => header[k] === h) &&
    rest.every((h) => (OPTIONAL as readonly string[]).includes(h)) &&
    new Set(rest).size === rest.length;
  if (!ok) {
    throw new PodsCsvError(
      `${file} line 1: header must be ${REQUIRED.join(",")} optionally followed by some of ${OPTIONAL.join(",")} (each once), got ${JSON.stringify(header.join(","))}`,
    );
  }
}

/** `arch` (x86_64 or amd64 | arm64) and `families` (instance families or categories separated by |) of a row, when given. */
function placement(group: PodGroup, get: (name: string) => string | undefined, where: string): void {
  const arch = get("arch")?.trim();
  if (arch) {
    const parsed = parseCpuArch(arch);
    if (!parsed)
      throw new PodsCsvError(`${where}: field arch: must be x86_64 (or amd64) or arm64, got ${JSON.stringify(arch)}`);
    group.arch = parsed;
  }
  const families = get("families")?.trim();
  if (families) {
    const list = families.split("|").map((f) => f.trim());
    if (list.some((f) => !/^[a-z][a-z0-9-]*$/.test(f)))
      throw new PodsCsvError(
        `${where}: field families: instance families or categories separated by |, got ${JSON.stringify(families)}`,
      );
    group.families = list;
  }
}

/** The optional num_gpu (whole devices), gpu_milli (checked, not packed) and qos fields. */
function gpuAndQos(group: PodGroup, get: (name: string) => string | undefined, where: string): void {
  const gpu = get("num_gpu") ?? "";
  if (gpu.trim() !== "") group.gpus = intField(gpu, `${where}: field num_gpu`, 0);
  const milli = get("gpu_milli") ?? "";
  if (milli.trim() !== "" && intField(milli, `${where}: field gpu_milli`, 0) > 1000) {
    throw new PodsCsvError(`${where}: field gpu_milli: must be 0..1000, got ${milli}`);
  }
  const qos = get("qos")?.trim() ?? "";
  if (qos !== "" && !(KNOWN_QOS as readonly string[]).includes(qos))
    throw new PodsCsvError(`${where}: field qos: must be one of ${KNOWN_QOS.join(", ")}, got ${JSON.stringify(qos)}`);
}

function parseRow(fields: string[], header: string[], where: string): PodGroup {
  const get = (name: string): string | undefined => {
    const k = header.indexOf(name);
    return k >= 0 ? fields[k] : undefined;
  };
  const app = get("app")!.trim();
  if (app === "") throw new PodsCsvError(`${where}: field app: must not be empty`);
  const group: PodGroup = {
    app,
    cpuMillicores: intField(get("cpu_millicores")!, `${where}: field cpu_millicores`, 0),
    memoryMiB: intField(get("memory_mib")!, `${where}: field memory_mib`, 0),
    count: intField(get("count")!, `${where}: field count`, 1),
  };
  gpuAndQos(group, get, where);
  placement(group, get, where);
  if (group.cpuMillicores === 0 && group.memoryMiB === 0 && !group.gpus)
    throw new PodsCsvError(`${where}: a pod must request some CPU, memory or GPU`);
  return group;
}

/**
 * Rows `app,cpu_millicores,memory_mib,count` then any of `num_gpu,gpu_milli,qos,arch,families`; blank lines are skipped;
 * no quoting. GPU pods request `num_gpu` whole devices (gpu_milli, a fractional share in the trace, is validated but
 * not packed); `arch` and `families` (e.g. `m7g|c7g`) are the pod's node selectors.
 */
export function parsePodsCsv(text: string, file: string): PodGroup[] {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? "").split(",").map((h) => h.trim());
  checkHeader(header, file);
  const groups: PodGroup[] = [];
  lines.slice(1).forEach((line, k) => {
    if (line.trim() === "") return;
    const where = `${file} line ${k + 2}`;
    const fields = line.split(",");
    if (fields.length !== header.length)
      throw new PodsCsvError(`${where}: expected ${header.length} fields, got ${fields.length}`);
    groups.push(parseRow(fields, header, where));
  });
  if (groups.length === 0) throw new PodsCsvError(`${file}: no pod rows`);
  return groups;
}
