// Parses pod-shape CSV files (columns of ../shared/data/workload-pods.csv) into pod groups, naming the line and field on bad input.
import type { PodGroup } from "./types.js";

export class PodsCsvError extends Error {
  override name = "PodsCsvError";
}

const REQUIRED = ["app", "cpu_millicores", "memory_mib", "count"] as const;
const OPTIONAL = ["num_gpu", "gpu_milli", "qos"] as const;
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
  const expected = [...REQUIRED, ...OPTIONAL.slice(0, Math.max(0, header.length - REQUIRED.length))];
  if (header.length > expected.length || header.some((h, k) => h !== expected[k])) {
    throw new PodsCsvError(
      `${file} line 1: header must be ${REQUIRED.join(",")} optionally followed by ${OPTIONAL.join(",")} in that order, got ${JSON.stringify(header.join(","))}`,
    );
  }
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
  const gpu = get("num_gpu");
  if (gpu !== undefined && gpu.trim() !== "") group.gpus = intField(gpu, `${where}: field num_gpu`, 0);
  const milli = get("gpu_milli");
  if (milli !== undefined && milli.trim() !== "" && intField(milli, `${where}: field gpu_milli`, 0) > 1000) {
    throw new PodsCsvError(`${where}: field gpu_milli: must be 0..1000, got ${milli}`);
  }
  const qos = get("qos")?.trim();
  if (qos !== undefined && qos !== "" && !(KNOWN_QOS as readonly string[]).includes(qos))
    throw new PodsCsvError(`${where}: field qos: must be one of ${KNOWN_QOS.join(", ")}, got ${JSON.stringify(qos)}`);
  if (group.cpuMillicores === 0 && group.memoryMiB === 0 && !group.gpus)
    throw new PodsCsvError(`${where}: a pod must request some CPU, memory or GPU`);
  return group;
}

/**
 * Rows `app,cpu_millicores,memory_mib,count[,num_gpu,gpu_milli,qos]`; blank lines are skipped; no quoting.
 * GPU pods request `num_gpu` whole devices (gpu_milli, a fractional share in the trace, is validated but not packed).
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
