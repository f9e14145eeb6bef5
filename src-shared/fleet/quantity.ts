// Parses Kubernetes resource quantities (cpu "1500m"/"2", memory "8Gi"/"512M"/"1e9") into millicores and MiB.

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};
const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/;

/** The quantity's value in base units (cores for cpu, bytes for memory), or undefined when it is not a quantity. */
export function parseQuantity(quantity: string | number | undefined): number | undefined {
  if (quantity === undefined) return undefined;
  if (typeof quantity === "number") return Number.isFinite(quantity) ? quantity : undefined;
  const m = QUANTITY.exec(quantity.trim());
  if (!m) return undefined;
  const suffix = m[2] ?? "";
  const factor = BINARY[suffix] ?? DECIMAL[suffix];
  return Number(m[1]) * factor;
}

/** CPU quantity in millicores (0 when absent or malformed: an unparseable request reserves nothing). */
export function cpuMillicores(quantity: string | number | undefined): number {
  const cores = parseQuantity(quantity);
  return cores === undefined ? 0 : Math.round(cores * 1000);
}

/** Memory quantity in MiB (0 when absent or malformed). */
export function memoryMiB(quantity: string | number | undefined): number {
  const bytes = parseQuantity(quantity);
  return bytes === undefined ? 0 : bytes / 2 ** 20;
}
