// The local API server's state on disk: log replay over the snapshot, a torn last record, damaged snapshot and log
// files (start-up stops with a message naming the file and what to do, changing nothing), permissions, old format.
import {
  appendFileSync,
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startLocalApiServer, type LocalApiServer } from "../../operator/local/apiserver/index.js";
import {
  encodeLine,
  ensurePrivateDir,
  resetState,
  StateError,
  stateFiles,
} from "../../operator/local/apiserver/persistence.js";

const root = mkdtempSync(join(tmpdir(), "apiserver-state-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
function newDir(): string {
  const dir = join(root, `d${++dirs}`);
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}

/** A copy of the state directory as a crash would leave it (taken while the server runs, nothing in flight). */
function crashImage(dir: string): string {
  const image = newDir();
  cpSync(dir, image, { recursive: true });
  return image;
}

async function createConfigMaps(server: LocalApiServer, names: string[]): Promise<void> {
  for (const name of names) {
    const res = await server.request("POST", "/api/v1/namespaces/default/configmaps", {
      body: { metadata: { name }, data: { name } },
    });
    expect(res.status).toBe(201);
  }
}

/** The ConfigMaps a test wrote (not the `kube-root-ca.crt` the control plane publishes in every namespace). */
async function configMapNames(server: LocalApiServer): Promise<string[]> {
  const res = await server.request("GET", "/api/v1/namespaces/default/configmaps");
  return (res.json.items as { metadata: { name: string } }[])
    .map((i) => i.metadata.name)
    .filter((name) => name !== "kube-root-ca.crt");
}

/** Every file under `dir` with its bytes, to show that a refused start-up changed nothing. */
function contents(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir)) out[f] = readFileSync(join(dir, f)).toString("base64");
  return out;
}

async function startError(dataFile: string): Promise<StateError> {
  const err = await startLocalApiServer({ dataFile }).then(
    async (s) => {
      await s.stop();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StateError);
  return err as StateError;
}

const NO_COMPACTION = 1 << 30;

describe("local API server state", () => {
  it("replays the log over the snapshot after a crash and drops a torn last record with a warning", async () => {
    const dir = newDir();
    const running = await startLocalApiServer({ dataFile: join(dir, "state.json"), compactMinBytes: NO_COMPACTION });
    try {
      await createConfigMaps(running, ["a", "b", "c"]);
      const image = crashImage(dir);
      const files = stateFiles(join(image, "state.json"));
      const last = files.segments().at(-1)!.path;
      const whole = encodeLine({ rv: 999, p: 998, op: "put", r: "/configmaps", k: "default/torn", o: {} });
      appendFileSync(last, whole.slice(0, 40));
      const warnings: string[] = [];
      const restarted = await startLocalApiServer({ dataFile: files.snapshot, onWarning: (m) => warnings.push(m) });
      expect(await configMapNames(restarted)).toEqual(["a", "b", "c"]);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(last);
      expect(warnings[0]).toContain("incomplete last record");
      await createConfigMaps(restarted, ["d"]);
      await restarted.stop();

      const warnedAgain: string[] = [];
      const again = await startLocalApiServer({ dataFile: files.snapshot, onWarning: (m) => warnedAgain.push(m) });
      expect(await configMapNames(again)).toEqual(["a", "b", "c", "d"]);
      expect(warnedAgain).toEqual([]);
      await again.stop();
    } finally {
      await running.stop();
    }
  });

  it("stops on a damaged snapshot, names the file and the way back, and the previous snapshot recovers everything", async () => {
    const dir = newDir();
    const dataFile = join(dir, "state.json");
    // Compacting after every flush leaves a previous snapshot and the log since it.
    const first = await startLocalApiServer({ dataFile, compactMinBytes: 1 });
    await createConfigMaps(first, ["a", "b"]);
    await new Promise((r) => setTimeout(r, 50));
    await createConfigMaps(first, ["c"]);
    await first.stop();
    const files = stateFiles(dataFile);
    truncateSync(dataFile, Math.floor(statSync(dataFile).size / 2));
    const before = contents(dir);

    const err = await startError(dataFile);
    expect(err.file).toBe(dataFile);
    expect(err.message).toContain("cut short");
    expect(err.message).toContain(`mv ${files.prev} ${dataFile}`);
    expect(err.message).toContain("--reset-state");
    expect(contents(dir)).toEqual(before);

    renameSync(files.prev, dataFile);
    const second = await startLocalApiServer({ dataFile });
    expect(await configMapNames(second)).toEqual(["a", "b", "c"]);
    await second.stop();
  });

  it("stops on a damaged log record or a missing log file, naming the file", async () => {
    const dir = newDir();
    const running = await startLocalApiServer({ dataFile: join(dir, "state.json"), compactMinBytes: NO_COMPACTION });
    await createConfigMaps(running, ["a", "b"]);
    const image = crashImage(dir);
    await running.stop();
    const next = await startLocalApiServer({ dataFile: join(image, "state.json"), compactMinBytes: NO_COMPACTION });
    await createConfigMaps(next, ["c", "d"]);
    const twoSegments = crashImage(image);
    await next.stop();

    const damaged = crashImage(twoSegments);
    const firstSegment = stateFiles(join(damaged, "state.json")).segments()[0]!.path;
    const text = readFileSync(firstSegment, "utf8");
    writeFileSync(firstSegment, text.replace('"name":"a"', '"name":"A"'));
    const before = contents(damaged);
    const err = await startError(join(damaged, "state.json"));
    expect(err.file).toBe(firstSegment);
    expect(err.message).toMatch(/record \d+ is damaged \(checksum mismatch\)/);
    expect(err.message).toContain("--reset-state");
    expect(contents(damaged)).toEqual(before);

    const missing = crashImage(twoSegments);
    rmSync(stateFiles(join(missing, "state.json")).segments()[0]!.path);
    const gap = await startError(join(missing, "state.json"));
    expect(gap.message).toContain("changes are missing");
  });

  it("keeps the state directory 0700 and every state file and the kubeconfig 0600, also when they were wider", async () => {
    const dir = newDir();
    chmodSync(dir, 0o755);
    const dataFile = join(dir, "state.json");
    const kubeconfigPath = join(dir, "kubeconfig");
    writeFileSync(kubeconfigPath, "old", { mode: 0o644 });
    const server = await startLocalApiServer({ dataFile, kubeconfigPath, compactMinBytes: 1 });
    await createConfigMaps(server, ["a", "b"]);
    await server.request("POST", "/api/v1/namespaces/default/secrets", {
      body: { metadata: { name: "s" }, stringData: { password: "x" } },
    });
    await server.stop();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const names = readdirSync(dir);
    expect(names).toEqual(expect.arrayContaining(["state.json", "state.prev.json", "kubeconfig"]));
    for (const f of names) expect(`${f} ${(statSync(join(dir, f)).mode & 0o777).toString(8)}`).toBe(`${f} 600`);

    chmodSync(dataFile, 0o644);
    const again = await startLocalApiServer({ dataFile });
    await again.stop();
    expect(statSync(dataFile).mode & 0o777).toBe(0o600);
  });

  it("refuses to make a shared (sticky) directory private", () => {
    const shared = newDir();
    chmodSync(shared, 0o1777);
    expect(() => ensurePrivateDir(shared)).toThrow(/shared directory/);
    expect(statSync(shared).mode & 0o7777).toBe(0o1777);
  });

  it("reads the single-document snapshot of earlier versions and keeps it as the previous snapshot", async () => {
    const dir = newDir();
    const dataFile = join(dir, "state.json");
    const legacy = {
      format: "spotopt-apiserver/v1",
      token: "legacy-token",
      resourceVersion: 40,
      resources: {
        "/configmaps": [
          {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: "old", namespace: "default", resourceVersion: "40" },
          },
        ],
      },
    };
    writeFileSync(dataFile, JSON.stringify(legacy), { mode: 0o600 });
    const server = await startLocalApiServer({ dataFile });
    expect(JSON.parse(readFileSync(stateFiles(dataFile).prev, "utf8")).format).toBe("spotopt-apiserver/v1");
    expect(readFileSync(dataFile, "utf8")).toMatch(/^[0-9a-f]{8} \{"format":"spotopt-apiserver\/v2"/);
    expect(server.kubeconfigYaml).toContain("legacy-token");
    expect(await configMapNames(server)).toEqual(["old"]);
    const created = await server.request("POST", "/api/v1/namespaces/default/configmaps", {
      body: { metadata: { name: "new" } },
    });
    expect(Number(created.json.metadata.resourceVersion)).toBeGreaterThan(40);
    await server.stop();
    const again = await startLocalApiServer({ dataFile });
    expect(await configMapNames(again)).toEqual(["new", "old"]);
    await again.stop();
  });

  it("--reset-state moves every state file aside (nothing is deleted) and the next start is empty", async () => {
    const dir = newDir();
    const dataFile = join(dir, "state.json");
    const server = await startLocalApiServer({ dataFile });
    await createConfigMaps(server, ["keep-me"]);
    await server.stop();
    const before = contents(dir);

    const aside = resetState(dataFile)!;
    expect(aside.startsWith(join(dir, "reset-"))).toBe(true);
    expect(contents(aside)).toEqual(before);
    const fresh = await startLocalApiServer({ dataFile });
    expect(await configMapNames(fresh)).toEqual([]);
    await fresh.stop();
  });
});
