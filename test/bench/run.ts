// `npm run bench`: runs every test/bench/*.bench.ts module in turn; each prints ratios against a baseline it measures itself.
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

interface BenchModule {
  /** Human-readable name printed as a heading. */
  title: string;
  /** Runs the benchmark and prints its own results. */
  run: () => Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

for (const file of files) {
  const mod = (await import(pathToFileURL(join(here, file)).href)) as BenchModule;
  console.log(`\n=== ${mod.title} (${file}) ===`);
  await mod.run();
}
