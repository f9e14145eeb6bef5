// resource.Quantity's canonical form (k8s.io/apimachinery/pkg/api/resource), as kube-apiserver stores and returns quantities.

const PATTERN = /^([+-]?)(\d+\.?\d*|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;
const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
const NANO = 10n ** 9n;

/** The value in units of 10^-9 (nano), rounded away from zero as Quantity rounds up below its precision. */
function nanos(digits: string, exp10: number, exp1024: number): bigint {
  const [whole = "", frac = ""] = digits.split(".");
  let n = BigInt((whole + frac).replace(/^0+(?=\d)/, "") || "0") * 1024n ** BigInt(exp1024);
  const scale = exp10 - frac.length + 9;
  if (scale >= 0) return n * 10n ** BigInt(scale);
  const div = 10n ** BigInt(-scale);
  const q = n / div;
  n = n % div === 0n ? q : q + 1n;
  return n;
}

function removeFactors(v: bigint, f: bigint, max: number): [bigint, number] {
  let times = 0;
  while (v !== 0n && v % f === 0n && times < max) {
    v /= f;
    times++;
  }
  return [v, times];
}

function decimal(n: bigint, exponentForm: boolean): string {
  if (n === 0n) return "0";
  const [stripped, times] = removeFactors(n, 10n, 1000);
  let amount = stripped;
  let exponent = times - 9;
  const down = ((exponent % 3) + 3) % 3;
  amount *= 10n ** BigInt(down);
  exponent -= down;
  if (exponentForm) return exponent === 0 ? `${amount}` : `${amount}e${exponent}`;
  if (exponent > 18) {
    amount *= 10n ** BigInt(exponent - 18);
    exponent = 18;
  }
  const suffix = Object.entries(DECIMAL_SUFFIX).find(([, e]) => e === exponent)![0];
  return `${amount}${suffix}`;
}

function binary(n: bigint): string {
  const abs = n < 0n ? -n : n;
  if (abs < 1024n * NANO || n % NANO !== 0n) return decimal(n, false);
  const [amount, times] = removeFactors(n / NANO, 1024n, 6);
  return `${amount}${BINARY_SUFFIX[times]}`;
}

/** The canonical string of a quantity ("1000m" → "1", "1024Mi" → "1Gi", "0.5" → "500m"), or undefined if invalid. */
export function canonicalQuantity(input: unknown): string | undefined {
  if (typeof input !== "string") return undefined;
  const m = PATTERN.exec(input.trim());
  if (!m) return undefined;
  const [, sign, digits, suffix = ""] = m as unknown as [string, string, string, string | undefined];
  const binaryIndex = BINARY_SUFFIX.indexOf(suffix);
  const exponentForm = /^[eE]/.test(suffix);
  const exp10 = exponentForm ? Number(suffix.slice(1)) : (DECIMAL_SUFFIX[suffix] ?? 0);
  if (Math.abs(exp10) > 1000) return undefined;
  let n = nanos(digits, binaryIndex > 0 ? 0 : exp10, Math.max(binaryIndex, 0));
  if (sign === "-") n = -n;
  if (binaryIndex > 0) return binary(n);
  return decimal(n, exponentForm);
}
