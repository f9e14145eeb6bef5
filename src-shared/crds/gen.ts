// `npm run gen`: writes crds/<plural>.spotoptimizer.io.yaml from the zod schemas and removes stale generated files.
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generateCrdFiles } from "./generate.js";

const crdDir = resolve(dirname(fileURLToPath(import.meta.url)), "../../crds");
const files = generateCrdFiles();
for (const [name, content] of files) writeFileSync(join(crdDir, name), content);
for (const name of readdirSync(crdDir)) {
  if (name.endsWith(".spotoptimizer.io.yaml") && !files.has(name)) rmSync(join(crdDir, name));
}
console.log(`Wrote ${files.size} CRDs to ${crdDir}`);
