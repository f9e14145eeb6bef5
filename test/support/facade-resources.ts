// Test helper for the facade's resource endpoints: local API server + CRDs, the informer cache, the real app and audit
// chain on 127.0.0.1:0, two organisation namespaces, and bearer tokens per (org, role) resolved by a test authenticator.
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { pino } from "pino";
import { createAuditChainStore } from "../../src-shared/audit/writer.js";
import type { LocalApiServer } from "../../src-shared/apiserver/index.js";
import { KubeClient } from "../../src-shared/kube/client.js";
import { createFacadeApp } from "../../operator/facade/app.js";
import { createFacadeCache, type FacadeCache } from "../../operator/facade/cache.js";
import { DEFAULT_FACADE_CONFIG } from "../../operator/facade/config.js";
import { UnauthorizedError } from "../../operator/facade/errors.js";
import type { AuthContext, Role } from "../../operator/facade/http.js";
import { routeModules } from "../../operator/facade/routes/index.js";
import { createAgentTokenVerifier } from "../../operator/facade/services/agent-token.js";
import { startTestCluster } from "./cluster.js";

export const ORG_A = "org-alpha";
export const ORG_B = "org-beta";

export interface ResourceFacade {
  url: string;
  server: LocalApiServer;
  client: KubeClient;
  cache: FacadeCache;
  /** Bearer token for a user of `namespace` with `role`. */
  token(namespace: string, role?: Role): string;
  /** fetch against the facade with a JSON body and the given token. */
  call(method: string, path: string, opts?: { token?: string; body?: unknown; raw?: string }): Promise<{ status: number; body: any; text: string; headers: Headers }>;
  /** Moves the facade's clock (for time-window tests). */
  setNow(date: Date | undefined): void;
  stop(): Promise<void>;
}

/** Test-only user authentication: `test:<namespace>:<role>` tokens (the JWT path is E1's and tested there). */
function testAuthenticator(): { authenticateUser(req: import("express").Request): Promise<AuthContext> } {
  return {
    async authenticateUser(req) {
      const m = /^Bearer test:([a-z0-9-]+):(owner|admin|viewer)$/.exec(req.headers.authorization ?? "");
      if (!m) throw new UnauthorizedError("invalid token");
      const [, namespace, role] = m;
      return { userId: `${role}@${namespace}`, email: `${role}@${namespace}.example`, role: role as Role, orgId: namespace!, namespace: namespace! };
    },
  };
}

export async function startResourceFacade(): Promise<ResourceFacade> {
  const server = await startTestCluster({ crds: "project" });
  const client = new KubeClient(server.kubeConfig);
  for (const ns of [ORG_A, ORG_B]) {
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { "spotoptimizer.io/organisation": "true" } } });
  }
  const cache = createFacadeCache(server.kubeConfig);
  await cache.start();
  let now: Date | undefined;
  const clock = (): Date => now ?? new Date();
  const app = createFacadeApp(
    {
      kubeConfig: server.kubeConfig,
      cache,
      audit: createAuditChainStore({ client, now: clock }),
      config: { ...DEFAULT_FACADE_CONFIG, validateResponses: true, logLevel: "silent" },
      now: clock,
      users: testAuthenticator(),
      verifyAgentToken: createAgentTokenVerifier(cache),
      logger: pino({ level: "silent" }),
    },
    routeModules,
  );
  const http: Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    url,
    server,
    client,
    cache,
    token: (namespace, role = "owner") => `test:${namespace}:${role}`,
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = {};
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      if (opts.body !== undefined || opts.raw !== undefined) headers["content-type"] = "application/json";
      const res = await fetch(`${url}${path}`, {
        method,
        headers,
        body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
      });
      const text = await res.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return { status: res.status, body, text, headers: res.headers };
    },
    setNow(date) {
      now = date;
    },
    async stop() {
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await cache.stop();
      await server.stop();
    },
  };
}
