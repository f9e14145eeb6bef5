// What a super_admin's impersonation token may not do, through real HTTP: invite anyone into the organisation (the one
// route that grants lasting access) — 403, audited as denied, nothing stored or mailed — nor change the audit log's
// retention (a shorter one deletes entries), nor re-issue a connected cluster's agent token (its agent would stop),
// while the owner's own token still does all three and the impersonation token still reads and makes ordinary writes
// (new clusters, templates).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  IMPERSONATION_HAS_NO_CONTEXT,
  IMPERSONATION_KEEPS_AGENT_TOKENS,
  IMPERSONATION_KEEPS_AUDIT,
  IMPERSONATION_MANAGES_NO_ACCESS,
} from "../../operator/facade/http.js";
import { TOKEN_HASH_KEY, agentTokenSecretName } from "../../operator/facade/services/agent-token.js";
import { AUTH_TYPE_LABEL, ORG_ID_LABEL } from "../../operator/facade/auth/store.js";
import { eventually } from "../support/cluster.js";
import { ADMIN, startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";

const SYSTEM = "spot-optimizer-system";
const NT = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" };
const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" };
const ACTING = `${ADMIN.email} (admin acting as user)`;

let t: TestFacade;
let owner: SignedUp;
let impersonation: string;

beforeAll(async () => {
  t = await startTestFacade();
  const admin = (await t.call("POST", "/api/auth/token", { body: ADMIN })).body.access_token as string;
  owner = await t.signup("Impersonated Access");
  const res = await t.call("POST", "/admin/impersonate", { token: admin, body: { client_id: owner.orgId } });
  expect(res.status).toBe(200);
  impersonation = res.body.temp_token as string;
});
afterAll(async () => {
  await t?.stop();
});

/** The invited addresses the API server holds for the organisation (invite Secrets), read live. */
async function storedInviteEmails(): Promise<string[]> {
  const list = await t.client.list<{ data?: Record<string, string> }>(
    { apiVersion: "v1", kind: "Secret", namespace: SYSTEM },
    { labelSelector: `${AUTH_TYPE_LABEL}=invite,${ORG_ID_LABEL}=${owner.orgId}` },
  );
  return list.items.map((s) => Buffer.from(s.data?.email ?? "", "base64").toString("utf8")).sort();
}

async function chain(): Promise<Array<{ actor: string; event: string; outcome: string }>> {
  return (await t.facades[0]!.audit.readChain(owner.namespace)).entries as never;
}

describe("impersonation tokens and the organisation's access", () => {
  it("cannot invite a member of any role: 403 with the reason, audited as denied, no invite stored or mailed", async () => {
    const before = await storedInviteEmails();
    for (const role of ["owner", "admin", "viewer"] as const) {
      const email = `support-${role}@example.com`;
      const res = await t.call("POST", "/settings/invite", { token: impersonation, body: { email, role } });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ detail: IMPERSONATION_MANAGES_NO_ACCESS });
      expect(t.mails(email)).toEqual([]);
    }
    expect(await storedInviteEmails()).toEqual(before);
    const team = await t.call("GET", "/settings/team", { token: owner.accessToken });
    expect(team.body.members.map((m: { email: string }) => m.email)).toEqual([owner.email]);
    const entries = await chain();
    expect(entries).toContainEqual(
      expect.objectContaining({ actor: ACTING, event: "POST /settings/invite", outcome: "denied" }),
    );
    expect(entries.some((e) => e.event === "team.invite")).toBe(false);
  });

  it("the owner's own token still invites with the same request the impersonation token was refused", async () => {
    const email = "owner-choice@example.com";
    const body = { email, role: "owner" };
    expect((await t.call("POST", "/settings/invite", { token: impersonation, body })).status).toBe(403);
    expect(await storedInviteEmails()).not.toContain(email);
    const res = await t.call("POST", "/settings/invite", { token: owner.accessToken, body });
    expect(res.status).toBe(201);
    expect(await storedInviteEmails()).toContain(email);
    expect(t.mailedCode(email)).toMatch(/^[0-9a-f-]{36}\./);
  });

  it("is refused only there: it still reads, connects a cluster and creates a NodeTemplate", async () => {
    // The boundary on both sides: the invite is refused, the ordinary work of the same token is not.
    const invite = await t.call("POST", "/settings/invite", {
      token: impersonation,
      body: { email: "support-boundary@example.com", role: "viewer" },
    });
    expect(invite.status).toBe(403);
    expect((await t.call("GET", "/settings/team", { token: impersonation })).status).toBe(200);
    expect((await t.call("GET", "/clusters", { token: impersonation })).status).toBe(200);
    // Connecting issues an agent token for that one cluster's agent routes, which support work needs: allowed.
    const connected = await t.call("POST", "/clusters/connect", {
      token: impersonation,
      body: { cluster_id: "support-edge" },
    });
    expect(connected.status).toBe(200);
    expect(connected.body.api_token).toEqual(expect.any(String));
    await expect(
      t.client.getIfExists({ ...MC, namespace: owner.namespace, name: "support-edge" }),
    ).resolves.toBeDefined();
    await eventually(() => t.facades[0]!.cache.cluster(owner.namespace, "support-edge"));
    const created = await t.call("POST", "/templates", {
      token: impersonation,
      body: { name: "support-general", families: ["m5"], cluster_id: "support-edge" },
    });
    expect(created.status).toBe(201);
    const template = await t.client.getIfExists<{ spec: { clusterRef: { name: string } } }>({
      ...NT,
      namespace: owner.namespace,
      name: "support-general",
    });
    expect(template?.spec.clusterRef.name).toBe("support-edge");
    expect(await storedInviteEmails()).not.toContain("support-boundary@example.com");
  });

  it("cannot re-issue a connected cluster's agent token: 403, audited as denied, the token's hash as it was", async () => {
    const connect = (token: string) =>
      t.call("POST", "/clusters/connect", { token, body: { cluster_id: "owned-edge" } });
    const first = await connect(owner.accessToken);
    expect(first.status).toBe(200);
    const secretRef = {
      apiVersion: "v1",
      kind: "Secret",
      namespace: SYSTEM,
      name: agentTokenSecretName(owner.namespace, "owned-edge"),
    };
    const hash = async (): Promise<string | undefined> =>
      (await t.client.getIfExists<{ data?: Record<string, string> }>(secretRef))?.data?.[TOKEN_HASH_KEY];
    const issued = await hash();
    expect(issued).toEqual(expect.any(String));
    await eventually(() => t.facades[0]!.cache.cluster(owner.namespace, "owned-edge"));
    for (const path of ["/clusters/connect", "/clusters/install"]) {
      const res = await t.call("POST", path, { token: impersonation, body: { cluster_id: "owned-edge" } });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ detail: IMPERSONATION_KEEPS_AGENT_TOKENS });
      expect(await hash()).toBe(issued);
    }
    expect(await chain()).toContainEqual(
      expect.objectContaining({ actor: ACTING, event: "POST /clusters/connect", outcome: "denied" }),
    );
    // the owner's own token rotates it
    expect((await connect(owner.accessToken)).status).toBe(200);
    expect(await hash()).not.toBe(issued);
  });

  it("cannot choose an active account (kept per user: it would be the super_admin's own): 403, names cluster_id", async () => {
    const connected = await t.call("POST", "/clusters/connect", {
      token: owner.accessToken,
      body: { cluster_id: "ctx" },
    });
    expect(connected.status).toBe(200);
    await eventually(() => t.facades[0]!.cache.cluster(owner.namespace, "ctx") !== undefined);
    const res = await t.call("PATCH", "/settings/context", { token: impersonation, body: { account_id: "ctx" } });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ detail: IMPERSONATION_HAS_NO_CONTEXT });
    const accounts = await t.call("GET", "/settings/accounts", { token: impersonation });
    expect(accounts.body.active_account).toBeNull();
    expect(
      (await t.call("PATCH", "/settings/context", { token: owner.accessToken, body: { account_id: "ctx" } })).status,
    ).toBe(200);
  });

  it("cannot change the audit log's retention, which would delete entries: 403, the head and entries as they were", async () => {
    const before = await chain();
    const head = await t.facades[0]!.audit.readHead(owner.namespace);
    const res = await t.call("PATCH", "/audit/retention", { token: impersonation, body: { retention_days: 1 } });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ detail: IMPERSONATION_KEEPS_AUDIT });
    expect((await t.facades[0]!.audit.readHead(owner.namespace)).retentionDays).toBe(head.retentionDays);
    const after = await chain();
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.some((e) => e.event === "audit.retention")).toBe(false);
    // the owner's own token sets it
    const own = await t.call("PATCH", "/audit/retention", { token: owner.accessToken, body: { retention_days: 400 } });
    expect(own.status).toBe(200);
    expect((await t.facades[0]!.audit.readHead(owner.namespace)).retentionDays).toBe(400);
  });

  // last: it deletes the organisation
  it("stops working once its organisation is deleted: 401, not an empty organisation whose audit log verifies", async () => {
    const admin = (await t.call("POST", "/api/auth/token", { body: ADMIN })).body.access_token as string;
    expect((await t.call("GET", "/audit/export", { token: impersonation })).status).toBe(200);
    expect((await t.call("DELETE", `/admin/clients/${owner.orgId}`, { token: admin })).status).toBe(200);
    for (const [method, path] of [
      ["GET", "/api/auth/me"],
      ["GET", "/audit/export"],
      ["GET", "/clusters"],
    ] as const) {
      const res = await t.call(method, path, { token: impersonation });
      expect(res.status, path).toBe(401);
      expect(res.body.detail, path).toMatch(/organisation this impersonation token was issued for has been deleted/);
    }
  });
});
