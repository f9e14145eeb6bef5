// spotctl's cached bundle: its TypeScript compiled by esbuild into node_modules/.cache, used only while every file it
// was built from is byte-identical, rebuilt otherwise; a run then needs neither tsx's loader thread nor its transforms.
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, extname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The manifest's layout: one of another layout is ignored (a change of the build options changes this file's hash). */
const FORMAT = 1;
const SELF = fileURLToPath(import.meta.url);
const REPO = resolve(dirname(SELF), "..");
/** Besides the sources: the files that shape how they compile, this one included. */
const buildFiles = (root) => [join(root, "package.json"), join(root, "tsconfig.json"), SELF];
const LOADERS = { ".ts": "ts", ".mts": "ts", ".js": "js", ".mjs": "js", ".json": "json" };
/** Build directories other runs may still be reading are kept this long. */
const KEEP_OLD_MS = 60 * 60 * 1000;

function digest(content) {
  return createHash("sha256").update(content).digest("hex");
}

/**
 * The entry of the bundle named by the manifest when it was built with the same worker entries, they are all there,
 * and every file it was built from still hashes the same; else undefined.
 */
function freshEntry(cacheDir, root, workers) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(cacheDir, "manifest.json"), "utf8"));
  } catch {
    return undefined;
  }
  if (manifest.format !== FORMAT || manifest.root !== root) return undefined;
  if (JSON.stringify(manifest.workers ?? []) !== JSON.stringify(workers)) return undefined;
  const built = (w) => join(cacheDir, manifest.dir, `${basename(w, extname(w))}.js`);
  if (!workers.every((w) => existsSync(built(w)))) return undefined;
  for (const [file, hash] of Object.entries(manifest.inputs)) {
    try {
      if (digest(readFileSync(join(root, file))) !== hash) return undefined;
    } catch {
      return undefined;
    }
  }
  const entry = join(cacheDir, manifest.dir, manifest.entry);
  return existsSync(entry) ? entry : undefined;
}

/**
 * Loads each source itself, so the hash recorded is of exactly what was compiled; import.meta.url, .dirname and
 * .filename become the source's own (the bundle lives elsewhere); any other use of import.meta, or a kind of file
 * it does not know, fails the build rather than risk a bundle that behaves differently.
 */
function recordingLoader(root, inputs) {
  return {
    name: "spotctl-sources",
    setup(build) {
      build.onLoad({ filter: /.*/ }, (args) => {
        const loader = LOADERS[extname(args.path)];
        if (!loader) throw new Error(`${args.path}: not a kind of source the bundle knows`);
        const bytes = readFileSync(args.path);
        inputs[relative(root, args.path)] = digest(bytes);
        const text = bytes.toString("utf8");
        if (/import\.meta(?!\.(url|dirname|filename)\b)/.test(text))
          throw new Error(`${args.path}: import.meta used in a way the bundle cannot reproduce`);
        const contents = text
          .replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href))
          .replaceAll("import.meta.dirname", JSON.stringify(dirname(args.path)))
          .replaceAll("import.meta.filename", JSON.stringify(args.path));
        return { contents, loader };
      });
    },
  };
}

/** Removes build directories the manifest no longer names, once no run can still be reading them. */
function removeOldBuilds(cacheDir, keep) {
  for (const name of readdirSync(cacheDir)) {
    const path = join(cacheDir, name);
    if (name.startsWith("b-") && name !== keep && Date.now() - statSync(path).mtimeMs > KEEP_OLD_MS)
      rmSync(path, { recursive: true, force: true });
  }
}

/** Builds the bundle into a new directory, then names it in the manifest (written whole, by rename). */
async function build(cacheDir, root, entry, workers) {
  const { build: esbuild } = await import("esbuild");
  const inputs = {};
  for (const file of buildFiles(root)) inputs[relative(root, file)] = digest(readFileSync(file));
  const dir = `b-${process.pid}-${Date.now().toString(36)}`;
  const outdir = join(cacheDir, dir);
  // each worker entry's source URL → its built file, for the sources that start one (src-shared/optimizer/threads.ts)
  const built = Object.fromEntries(
    workers.map((w) => [pathToFileURL(join(root, w)).href, join(outdir, `${basename(w, extname(w))}.js`)]),
  );
  await esbuild({
    entryPoints: [entry, ...workers],
    define: { SPOTCTL_BUNDLED_WORKERS: JSON.stringify(built) },
    absWorkingDir: root,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    keepNames: true,
    outdir,
    entryNames: "[name]",
    logLevel: "silent",
    plugins: [recordingLoader(root, inputs)],
  });
  const manifest = { format: FORMAT, root, dir, entry: `${basename(entry, extname(entry))}.js`, workers, inputs };
  const tmp = join(cacheDir, `manifest.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(manifest));
  renameSync(tmp, join(cacheDir, "manifest.json"));
  removeOldBuilds(cacheDir, dir);
  return join(outdir, manifest.entry);
}

/** The worker threads' entries spotctl's code may start, built beside it. */
const WORKERS = ["src-shared/optimizer/whole-node-entry.ts", "src-shared/optimizer/worker-entry.ts"];

/**
 * The path of a bundle of `entry` (relative to the repository) built from the sources as they are now, with `workers`
 * (worker threads' entries) built beside it: the cached one, or a new build; undefined when it cannot be built (no
 * esbuild, a read-only node_modules), and the caller runs the sources through tsx instead.
 */
export async function spotctlBundle({
  entry = "operator/cli/spotctl.ts",
  root: givenRoot = REPO,
  workers = givenRoot === REPO ? WORKERS : [],
  cacheDir,
} = {}) {
  // The real path: sources are read (and their import.meta.url made) from where symlinks lead, and the worker entries
  // are looked up by those URLs.
  const root = existsSync(givenRoot) ? realpathSync(givenRoot) : givenRoot;
  // One cache per checkout: checkouts sharing a node_modules (a symlink) would otherwise rebuild over each other.
  const dir = cacheDir ?? join(root, "node_modules", ".cache", "spotctl", digest(root).slice(0, 12));
  const cached = freshEntry(dir, root, workers);
  if (cached) return cached;
  try {
    mkdirSync(dir, { recursive: true });
    return await build(dir, root, entry, workers);
  } catch {
    return undefined;
  }
}
