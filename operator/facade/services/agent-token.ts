// Per-cluster agent tokens: issued once by POST /clusters/connect|install, stored only as a SHA-256 hash in a labelled
// Secret, verified against the cached Secret on agent routes (FacadeDeps.verifyAgentToken).
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { V1Secret } from "@kubernetes/client-node";
import type { ManagedCluster } from "../../../src-shared/crds/index.js";
import type { AuthContext } from "../http.js";
import { AGENT_TOKEN_LABEL, type FacadeCache } from "../cache.js";
import { UnauthorizedError } from "../errors.js";
import { clusterOwnerReference } from "./cluster-target.js";

export const TOKEN_HASH_KEY = "token-hash";
const PREFIX = "soa";

export function agentTokenSecretName(clusterName: string): string {
  return `${clusterName}-agent-token`.slice(0, 253);
}

function b64url(s: string): string {
  return Buffer.from(s, "utf8").toString("base64url");
}

export function sha256Hex(s: string): string {
  return createHash("sha256").update(s, "utf8").digest("hex");
}

/** A new token naming its cluster (so the verifier finds the hash without a scan) plus 256 random bits. */
export function newAgentToken(namespace: string, clusterName: string): string {
  return `${PREFIX}.${b64url(namespace)}.${b64url(clusterName)}.${randomBytes(32).toString("base64url")}`;
}

export function parseAgentToken(token: string): { namespace: string; clusterName: string } | undefined {
  const parts = token.split(".");
  if (parts.length !== 4 || parts[0] !== PREFIX) return undefined;
  const namespace = Buffer.from(parts[1]!, "base64url").toString("utf8");
  const clusterName = Buffer.from(parts[2]!, "base64url").toString("utf8");
  return namespace && clusterName ? { namespace, clusterName } : undefined;
}

/** The Secret holding the token's hash, owned by the ManagedCluster so it goes when the cluster goes. */
export function agentTokenSecret(cluster: ManagedCluster, token: string): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: agentTokenSecretName(cluster.metadata.name ?? ""),
      namespace: cluster.metadata.namespace,
      labels: { [AGENT_TOKEN_LABEL]: "true", "spotoptimizer.io/cluster": cluster.metadata.name ?? "" },
      ownerReferences: [clusterOwnerReference(cluster, { controller: true })],
    },
    type: "Opaque",
    // data (base64), not stringData: every API server stores it the same way.
    data: { [TOKEN_HASH_KEY]: Buffer.from(sha256Hex(token), "utf8").toString("base64") },
  };
}

function storedHash(secret: V1Secret | undefined): string | undefined {
  const data = secret?.data?.[TOKEN_HASH_KEY];
  if (data !== undefined) return Buffer.from(data, "base64").toString("utf8");
  return secret?.stringData?.[TOKEN_HASH_KEY];
}

function hashMatches(expected: string | undefined, token: string): boolean {
  const actual = sha256Hex(token);
  return (
    expected !== undefined &&
    expected.length === actual.length &&
    timingSafeEqual(Buffer.from(expected), Buffer.from(actual))
  );
}

function routeClusterId(params: unknown): unknown {
  return (params as { id?: unknown } | null)?.id;
}

/** Verifies an agent token for the cluster in the route's `:id`; 401 for anything else. */
export function createAgentTokenVerifier(cache: FacadeCache): (token: string, params: unknown) => Promise<AuthContext> {
  return async (token, params) => {
    const parsed = parseAgentToken(token);
    const routeCluster = routeClusterId(params);
    const fail = new UnauthorizedError("invalid agent token for this cluster");
    if (!parsed || (routeCluster !== undefined && routeCluster !== parsed.clusterName)) throw fail;
    const cluster = cache.cluster(parsed.namespace, parsed.clusterName);
    if (!cluster) throw fail;
    const secretName = cluster.spec.agentTokenSecretRef?.name ?? agentTokenSecretName(parsed.clusterName);
    if (!hashMatches(storedHash(cache.agentTokenSecret(parsed.namespace, secretName)), token)) throw fail;
    return {
      userId: `agent:${parsed.namespace}/${parsed.clusterName}`,
      email: `system:agent/${parsed.clusterName}`,
      role: "viewer",
      orgId: parsed.namespace,
      namespace: parsed.namespace,
      agentClusterId: parsed.clusterName,
    };
  };
}
