// The kubeconfig that points kubectl and client-node at the local API server (bearer token auth).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import * as yaml from "js-yaml";

/** Cluster, user and context name used in the generated kubeconfig. */
export const LOCAL_CONTEXT = "spotopt-local";

/** kubeconfig YAML for `server` with `token`. */
export function kubeconfigYaml(server: string, token: string): string {
  return yaml.dump({
    apiVersion: "v1",
    kind: "Config",
    // client-node refuses plain http unless TLS verification is marked skipped (there is no TLS to verify).
    clusters: [{ name: LOCAL_CONTEXT, cluster: { server, "insecure-skip-tls-verify": true } }],
    users: [{ name: LOCAL_CONTEXT, user: { token } }],
    contexts: [{ name: LOCAL_CONTEXT, context: { cluster: LOCAL_CONTEXT, user: LOCAL_CONTEXT, namespace: "default" } }],
    "current-context": LOCAL_CONTEXT,
    preferences: {},
  });
}

/** Writes the kubeconfig with owner-only permissions (it holds a bearer token). */
export function writeKubeconfig(path: string, server: string, token: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, kubeconfigYaml(server, token), { mode: 0o600 });
}
