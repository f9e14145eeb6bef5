// `npm run gen`: writes crds/<plural>.spotoptimizer.io.yaml and the chart's copy from the zod schemas, removing stale files.
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generateCrdFiles } from "./generate.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
// Helm installs the chart's crds/ before its templates; it cannot reference files outside the chart, hence a copy.
const crdDirs = [join(repoRoot, "crds"), join(repoRoot, "charts/spot-optimizer/crds")];
const files = generateCrdFiles();
for (const crdDir of crdDirs) {
  for (const [name, content] of files) writeFileSync(join(crdDir, name), content);
  for (const name of readdirSync(crdDir)) {
    if (name.endsWith(".spotoptimizer.io.yaml") && !files.has(name)) rmSync(join(crdDir, name));
  }
  console.log(`Wrote ${files.size} CRDs to ${crdDir}`);
}
