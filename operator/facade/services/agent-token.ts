// Per-cluster agent tokens: issued once by POST /clusters/connect|install, stored only as a SHA-256 hash in a labelled
// Secret of the release namespace, verified against the cached Secret on agent routes (FacadeDeps.verifyAgentToken).
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { V1Secret } from "@kubernetes/client-node";
import type { ManagedCluster } from "../../../src-shared/crds/index.js";
import type { AuthContext } from "../http.js";
import {
  AGENT_TOKEN_SUFFIX,
  agentObjectMarks,
  agentObjectName,
  CLUSTER_UID_LABEL,
} from "../../../src-shared/agent/placement.js";
import { AGENT_TOKEN_LABEL, type FacadeCache } from "../cache.js";
import { UnauthorizedError } from "../errors.js";

export const TOKEN_HASH_KEY = "token-hash";
const PREFIX = "soa";

/** The name of a cluster's token Secret in the release namespace (organisation namespace and cluster in it). */
export function agentTokenSecretName(namespace: string, clusterName: string): string {
  return agentObjectName(namespace, clusterName, AGENT_TOKEN_SUFFIX);
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

/**
 * The Secret holding the token's hash, in the release namespace. No owner reference (one cannot cross namespaces): its
 * labels and annotations name the organisation, the cluster and the cluster's uid, and the facade's sweep deletes it
 * once that is gone.
 */
export function agentTokenSecret(cluster: ManagedCluster, token: string, releaseNamespace: string): V1Secret {
  const namespace = cluster.metadata.namespace ?? "";
  const name = cluster.metadata.name ?? "";
  const marks = agentObjectMarks({ namespace, cluster: name, uid: cluster.metadata.uid });
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: agentTokenSecretName(namespace, name),
      namespace: releaseNamespace,
      labels: { [AGENT_TOKEN_LABEL]: "true", ...marks.labels },
      annotations: marks.annotations,
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
    // The cache hands out only a Secret labelled for this organisation and cluster; the uid rules out a token issued
    // to an earlier cluster of the same name.
    const secret = cache.agentTokenSecret(parsed.namespace, parsed.clusterName);
    if (!secret || secret.metadata?.labels?.[CLUSTER_UID_LABEL] !== cluster.metadata.uid) throw fail;
    if (!hashMatches(storedHash(secret), token)) throw fail;
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
