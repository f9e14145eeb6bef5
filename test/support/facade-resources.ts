// Test helper for the facade's resource endpoints, on the real facade (test/support/facade.ts: real signup, JWTs,
// invites, audit chain): two organisations, each with an owner, an admin and a viewer, and a token per (org, role).
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import type { KubeClient } from "../../src-shared/kube/client.js";
import type { FacadeCache } from "../../operator/facade/cache.js";
import type { Role } from "../../operator/facade/http.js";
import type { StartFacadeOptions } from "../../operator/facade/start.js";
import { startTestFacade, type CallResult, type SignedUp, type TestFacade } from "./facade.js";

export interface ResourceFacade {
  url: string;
  server: LocalApiServer;
  client: KubeClient;
  cache: FacadeCache;
  facade: TestFacade;
  /** Namespaces of the two organisations. */
  orgA: string;
  orgB: string;
  /** Bearer access token of the `role` member of the organisation in `namespace`. */
  token(namespace: string, role?: Exclude<Role, "super_admin">): string;
  call(method: string, path: string, opts?: { token?: string; body?: unknown; raw?: string }): Promise<CallResult>;
  stop(): Promise<void>;
}

export async function startResourceFacade(options: Partial<StartFacadeOptions> = {}): Promise<ResourceFacade> {
  const facade = await startTestFacade(options);
  const members = new Map<string, SignedUp>();
  const orgs: string[] = [];
  for (const name of ["Alpha Corp", "Beta Corp"]) {
    const owner = await facade.signup(name);
    orgs.push(owner.namespace);
    members.set(`${owner.namespace}/owner`, owner);
    for (const role of ["admin", "viewer"] as const)
      members.set(`${owner.namespace}/${role}`, await facade.addMember(owner, role));
  }
  const running = facade.facades[0]!;
  return {
    url: facade.url,
    server: facade.server,
    client: facade.client,
    cache: running.cache,
    facade,
    orgA: orgs[0]!,
    orgB: orgs[1]!,
    token(namespace, role = "owner") {
      const member = members.get(`${namespace}/${role}`);
      if (!member) throw new Error(`no ${role} in ${namespace}`);
      return member.accessToken;
    },
    call: (method, path, opts) => facade.call(method, path, opts),
    stop: () => facade.stop(),
  };
}
