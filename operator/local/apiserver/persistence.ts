// JSON persistence of the local API server's state (npm start keeps it under SPOTOPT_HOME across restarts).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { KubeObject } from "./selectors.js";

/** The on-disk snapshot. */
export interface PersistedState {
  format: "spotopt-apiserver/v1";
  token: string;
  /** The self-signed serving certificate, kept so that kubeconfigs stay valid across restarts. */
  certPem?: string;
  keyPem?: string;
  resourceVersion: number;
  /** Objects by storage key `group/plural`. */
  resources: Record<string, KubeObject[]>;
}

/** Reads a snapshot; undefined when the file does not exist. A corrupt file is an error (never silently dropped). */
export function loadState(path: string): PersistedState | undefined {
  if (!existsSync(path)) return undefined;
  const parsed = JSON.parse(readFileSync(path, "utf8")) as PersistedState;
  if (parsed.format !== "spotopt-apiserver/v1")
    throw new Error(`${path}: not a local API server state file (format ${String(parsed.format)})`);
  return parsed;
}

/** Writes a snapshot atomically (temp file + rename) so a crash never leaves half a file. */
export function saveState(path: string, state: PersistedState): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state));
  renameSync(tmp, path);
}
