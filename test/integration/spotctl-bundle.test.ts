// spotctl's cached bundle: it runs what the sources say now (an edited source is rebuilt, never served stale), keeps
// import.meta.url the source's own, and when it cannot be built the launcher still runs the CLI through tsx.
// Skips with a reason when esbuild is not installed.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { spotctlBundle } from "../../bin/spotctl-bundle.mjs";
import { repoRoot } from "../support/cluster.js";

const hasEsbuild = existsSync(join(repoRoot, "node_modules", "esbuild"));
const title = hasEsbuild ? "spotctl's bundle" : "spotctl's bundle — skipped: esbuild is not installed (npm ci)";
const dir = mkdtempSync(join(tmpdir(), "spotctl-bundle-"));

/** A project of two modules: main prints dep's word and its own import.meta.url. */
function project(name: string, word: string): { root: string; cacheDir: string } {
  const root = join(dir, name);
  mkdirSync(join(root, "src"), { recursive: true });
  writeFileSync(join(root, "package.json"), JSON.stringify({ type: "module" }));
  writeFileSync(join(root, "tsconfig.json"), "{}");
  writeFileSync(join(root, "src", "dep.ts"), `export const word: string = ${JSON.stringify(word)};\n`);
  writeFileSync(
    join(root, "src", "main.ts"),
    `import { word } from "./dep.js";\nconsole.log(JSON.stringify({ word, url: import.meta.url }));\n`,
  );
  return { root, cacheDir: join(root, "cache") };
}

function run(bundle: string | undefined): { word: string; url: string } {
  expect(bundle).toBeDefined();
  return JSON.parse(execFileSync(process.execPath, [bundle!], { encoding: "utf8" })) as { word: string; url: string };
}

describe.skipIf(!hasEsbuild)(title, () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("runs the sources as they are now: an edited source is rebuilt, an unchanged tree reuses its build", async () => {
    const p = project("edit", "first");
    const options = { entry: "src/main.ts", ...p };
    const first = await spotctlBundle(options);
    expect(run(first)).toEqual({ word: "first", url: pathToFileURL(join(p.root, "src", "main.ts")).href });
    expect(await spotctlBundle(options)).toBe(first);

    writeFileSync(join(p.root, "src", "dep.ts"), `export const word: string = "second";\n`);
    const second = await spotctlBundle(options);
    expect(second).not.toBe(first);
    expect(run(second).word).toBe("second");

    writeFileSync(join(p.root, "tsconfig.json"), `{ "compilerOptions": {} }`);
    const third = await spotctlBundle(options);
    expect(third).not.toBe(second);

    rmSync(dirname(third!), { recursive: true });
    expect(run(await spotctlBundle(options)).word).toBe("second");
  });

  it("gives no bundle when the cache cannot be written or a source uses import.meta otherwise", async () => {
    const p = project("unbuildable", "x");
    writeFileSync(join(p.root, "not-a-dir"), "");
    expect(await spotctlBundle({ entry: "src/main.ts", root: p.root, cacheDir: join(p.root, "not-a-dir", "c") })).toBe(
      undefined,
    );
    writeFileSync(join(p.root, "src", "dep.ts"), `export const word: string = import.meta.resolve("./x.js");\n`);
    expect(await spotctlBundle({ entry: "src/main.ts", ...p })).toBe(undefined);
  });

  it("builds worker threads' entries beside it, and a worker the bundle starts runs that build", async () => {
    const p = project("workers", "x");
    const threads = join(repoRoot, "src-shared", "optimizer", "threads.ts");
    writeFileSync(
      join(p.root, "src", "echo.ts"),
      `import { parentPort } from "node:worker_threads";\n` +
        `parentPort!.once("message", (m) => parentPort!.postMessage({ m, bundled: typeof SPOTCTL_BUNDLED_WORKERS === "object" }));\n`,
    );
    writeFileSync(
      join(p.root, "src", "main.ts"),
      `import { startWorker } from ${JSON.stringify(threads)};\n` +
        `const w = startWorker(new URL("./echo.ts", import.meta.url));\n` +
        `w.once("message", (r) => { console.log(JSON.stringify(r)); void w.terminate(); });\n` +
        `w.postMessage("hi");\n`,
    );
    const bundle = await spotctlBundle({ entry: "src/main.ts", workers: ["src/echo.ts"], ...p });
    expect(existsSync(join(dirname(bundle!), "echo.js"))).toBe(true);
    expect(JSON.parse(execFileSync(process.execPath, [bundle!], { encoding: "utf8" }))).toEqual({
      m: "hi",
      bundled: true,
    });
    // from the sources, the same worker runs through tsx
    const viaTsx = execFileSync(process.execPath, ["--import", "tsx", join(p.root, "src", "main.ts")], {
      encoding: "utf8",
      cwd: repoRoot,
    });
    expect(JSON.parse(viaTsx)).toEqual({ m: "hi", bundled: false });
  });

  it("prints the same through tsx as through the bundle (SPOTCTL_NO_BUNDLE=1)", async () => {
    expect(await spotctlBundle()).toBeDefined();
    const bin = join(repoRoot, "bin", "spotctl.mjs");
    const bundled = execFileSync(process.execPath, [bin, "plan", "--help"], { encoding: "utf8" });
    const viaTsx = execFileSync(process.execPath, [bin, "plan", "--help"], {
      encoding: "utf8",
      env: { ...process.env, SPOTCTL_NO_BUNDLE: "1" },
    });
    expect(bundled).toMatch(/^spotctl plan --pods FILE\.csv/);
    expect(viaTsx).toBe(bundled);
  });
});
