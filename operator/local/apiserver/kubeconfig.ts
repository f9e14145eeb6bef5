// The kubeconfig that points kubectl and client-node at the local API server (bearer token auth).
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import * as yaml from "js-yaml";

/** Cluster, user and context name used in the generated kubeconfig. */
export const LOCAL_CONTEXT = "spotopt-local";

/** kubeconfig YAML for `server` with `token`, trusting the server's self-signed certificate `caPem`. */
export function kubeconfigYaml(server: string, token: string, caPem: string): string {
  return yaml.dump({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: LOCAL_CONTEXT, cluster: { server, "certificate-authority-data": Buffer.from(caPem).toString("base64") } },
    ],
    users: [{ name: LOCAL_CONTEXT, user: { token } }],
    contexts: [{ name: LOCAL_CONTEXT, context: { cluster: LOCAL_CONTEXT, user: LOCAL_CONTEXT, namespace: "default" } }],
    "current-context": LOCAL_CONTEXT,
    preferences: {},
  });
}

/** Writes the kubeconfig with owner-only permissions (it holds a bearer token), also over an older, wider file. */
export function writeKubeconfig(path: string, yamlText: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, yamlText, { mode: 0o600 });
  chmodSync(path, 0o600);
}
