// Preloaded state for the API-server benchmarks: a snapshot written straight to disk, so a run starts with tens of
// thousands of objects without creating them over HTTP.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalApiServer } from "../../operator/local/apiserver/index.js";
import {
  recoverState,
  SNAPSHOT_FORMAT,
  snapshotChunks,
  type Credentials,
  type SnapshotHeader,
  type StoredObjects,
} from "../../operator/local/apiserver/persistence.js";

/**
 * A state directory whose snapshot holds what `fill` adds (written directly: creating tens of thousands of objects over
 * HTTP is slow). `fill` gets the store's resource maps and the next free resourceVersion, and returns the last it used.
 */
export async function preloadedState(fill: (data: StoredObjects, rv: number) => number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "apiserver-bench-"));
  const seed = await startLocalApiServer({ dataFile: join(dir, "seed", "state.json") });
  await seed.stop();
  const recovered = recoverState(join(dir, "seed", "state.json"), () => undefined)!;
  const data = recovered.objects;
  const rv = fill(data, recovered.rv);
  const header: SnapshotHeader = {
    format: SNAPSHOT_FORMAT,
    resourceVersion: rv,
    ...(recovered.credentials as Credentials),
  };
  writeFileSync(join(dir, "state.json"), [...snapshotChunks(header, data)].join(""), { mode: 0o600 });
  return dir;
}

export const STORED_AT = "2026-01-01T00:00:00Z";

/** Adds a namespace to preloaded state; returns the last resourceVersion used. */
export function storedNamespace(data: StoredObjects, name: string, rv: number): number {
  data.get("/namespaces")!.set(`/${name}`, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name, uid: `ns-${name}`, resourceVersion: String(++rv), creationTimestamp: STORED_AT },
    spec: { finalizers: ["kubernetes"] },
    status: { phase: "Active" },
  });
  return rv;
}
