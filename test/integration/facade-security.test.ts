// Account-security regressions through real HTTP: connect validates before writing and rolls back on API failures,
// URLs handed back come from the configured public URL (never the Host header) and their shell text is quoted,
// credential answers are not cached, invites are limited per user and organisation, and refusals are aggregated.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/cluster.js";
import type { RunningFacade } from "../../operator/facade/start.js";
import { call, startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";
import { DEFAULT_SYSTEM_NAMESPACE } from "../../src-shared/tenancy/cluster-target.js";

const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" };

let t: TestFacade;
let owner: SignedUp;
let viewer: SignedUp;

beforeAll(async () => {
  t = await startTestFacade();
  owner = await t.signup("Security Org");
  viewer = await t.addMember(owner, "viewer");
});
afterAll(async () => {
  await t?.stop();
});

async function stopReplica(replica: RunningFacade): Promise<void> {
  t.facades.splice(t.facades.indexOf(replica), 1);
  await replica.stop();
}

async function clusterAndSecret(namespace: string, name: string): Promise<{ cluster: unknown; secret: unknown }> {
  const cluster = await t.client.getIfExists({ ...MC, namespace, name });
  const secret = await t.client.getIfExists({
    apiVersion: "v1",
    kind: "Secret",
    namespace: DEFAULT_SYSTEM_NAMESPACE,
    name: `${namespace}.${name}-agent-token`,
  });
  return { cluster, secret };
}

describe("POST /clusters/connect", () => {
  it("refuses a cluster_id that is not an object name (<= 253) with 422 before writing anything", async () => {
    for (const id of ["a".repeat(254), "Upper-Case", "under_score", "-leading-dash"]) {
      const res = await t.call("POST", "/clusters/connect", { token: owner.accessToken, body: { cluster_id: id } });
      expect(res.status).toBe(422);
      expect(res.body.detail).toMatch(/^body\.cluster_id: /);
      expect(await clusterAndSecret(owner.namespace, id)).toEqual({ cluster: undefined, secret: undefined });
    }
  });

  it("leaves nothing behind when the API server fails the token Secret, and a retry then succeeds", async () => {
    t.server.faults.failWrites(
      // Any write of the Secret: the facade applies it (a PATCH that creates), and a create would fail the same way.
      (w) => w.resource === "secrets" && w.namespace === DEFAULT_SYSTEM_NAMESPACE,
    );
    try {
      const res = await t.call("POST", "/clusters/connect", {
        token: owner.accessToken,
        body: { cluster_id: "half-made" },
      });
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(res.body).toEqual({ detail: expect.any(String) });
    } finally {
      t.server.faults.reset();
    }
    await eventually(async () => {
      const left = await clusterAndSecret(owner.namespace, "half-made");
      return left.cluster === undefined && left.secret === undefined;
    });
    const retry = await t.call("POST", "/clusters/connect", {
      token: owner.accessToken,
      body: { cluster_id: "half-made" },
    });
    expect(retry.status).toBe(200);
    expect(retry.body.created).toBe(true);
  });

  it("leaves nothing behind when the API server fails the ManagedCluster itself", async () => {
    t.server.faults.failWrites((w) => w.resource === "managedclusters");
    try {
      const res = await t.call("POST", "/clusters/connect", {
        token: owner.accessToken,
        body: { cluster_id: "never-made" },
      });
      expect(res.status).toBeGreaterThanOrEqual(500);
    } finally {
      t.server.faults.reset();
    }
    expect(await clusterAndSecret(owner.namespace, "never-made")).toEqual({ cluster: undefined, secret: undefined });
  });

  it("takes no agent for a mode: local cluster (409) and changes nothing", async () => {
    await t.client.create({
      ...MC,
      metadata: { name: "in-house", namespace: owner.namespace },
      spec: { mode: "local" },
    });
    await eventually(() => t.facades[0]!.cache.cluster(owner.namespace, "in-house"));
    const res = await t.call("POST", "/clusters/connect", {
      token: owner.accessToken,
      body: { cluster_id: "in-house" },
    });
    expect(res.status).toBe(409);
    const { cluster, secret } = await clusterAndSecret(owner.namespace, "in-house");
    expect((cluster as { spec: unknown }).spec).toEqual({ mode: "local" });
    expect(secret).toBeUndefined();
  });
});

describe("names a person types", () => {
  it("refuse control characters, bidirectional overrides and unpaired surrogates with 422 and write nothing; other Unicode is kept as sent", async () => {
    const bad = ["nul\u0000name", "bell\u0007", "half \ud800 pair", "\udc00tail", "invoice\u202Efdp.exe", "a\u2066b"];
    for (const name of bad) {
      const connect = await t.call("POST", "/clusters/connect", {
        token: owner.accessToken,
        body: { cluster_id: "named", display_name: name },
      });
      expect(connect.status).toBe(422);
      expect(connect.body.detail).toMatch(
        /^body\.display_name: must (not contain control characters|be valid Unicode|not contain bidirectional)/,
      );
      const template = await t.call("POST", "/templates", {
        token: owner.accessToken,
        body: { name, families: ["m5"], cluster_id: "named" },
      });
      expect(template.status).toBe(422);
      expect(template.body.detail).toMatch(/^body\.name: /);
      const signup = await t.call("POST", "/api/auth/signup", {
        body: { org_name: name, email: `named-${bad.indexOf(name)}@example.com`, password: "SecurePass123!" },
      });
      expect(signup.status).toBe(422);
      expect(signup.body.detail).toMatch(/^body\.org_name: /);
    }
    expect(await clusterAndSecret(owner.namespace, "named")).toEqual({ cluster: undefined, secret: undefined });
    const kept = await t.call("POST", "/clusters/connect", {
      token: owner.accessToken,
      body: { cluster_id: "named", display_name: "Prod 🚀 — Zürich" },
    });
    expect(kept.status).toBe(200);
    const cluster: any = await t.client.get({ ...MC, namespace: owner.namespace, name: "named" });
    expect(cluster.spec.displayName).toBe("Prod 🚀 — Zürich");
  });
});

describe("URLs handed back", () => {
  it("name the listen address by default and never the request's Host header", async () => {
    const res = await t.call("POST", "/clusters/connect", {
      token: owner.accessToken,
      body: { cluster_id: "host-check" },
      headers: { host: "attacker.example", "x-forwarded-host": "attacker.example" },
    });
    expect(res.status).toBe(200);
    expect(res.body.endpoint).toBe(t.url);
    expect(res.body.helm_command).not.toContain("attacker");
    const exported = await t.call("GET", "/audit/export", {
      token: owner.accessToken,
      headers: { host: "attacker.example" },
    });
    expect(exported.body.file_url).toMatch(new RegExp(`^${t.url}/audit/export/file\\?`));
  });

  it("come from SPOTOPT_PUBLIC_URL, and the helm command runs exactly the values it shows", async () => {
    const hostile = "https://facade.example.com/x'$(touch pwned)`touch pwned`;touch pwned,y";
    const replica = await t.startReplica({ env: { SPOTOPT_PUBLIC_URL: hostile } });
    const publicUrl = new URL(hostile).href;
    const res = await call(replica.url, "POST", "/clusters/connect", {
      token: owner.accessToken,
      body: { cluster_id: "quoted", namespace: "agent-ns" },
      headers: { host: "attacker.example" },
    });
    expect(res.status).toBe(200);
    expect(res.body.endpoint).toBe(publicUrl);
    const exported = await call(replica.url, "GET", "/audit/export", { token: owner.accessToken });
    expect(exported.body.file_url.startsWith(`${publicUrl}/audit/export/file?`)).toBe(true);

    // A stand-in helm prints the words it received; the command must not run anything else.
    const dir = mkdtempSync(join(tmpdir(), "helm-quote-"));
    writeFileSync(join(dir, "helm"), `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > args.txt\n`, {
      mode: 0o755,
    });
    execFileSync("sh", ["-c", res.body.helm_command], { cwd: dir, env: { PATH: `${dir}:${process.env.PATH}` } });
    expect(existsSync(join(dir, "pwned"))).toBe(false);
    const words = readFileSync(join(dir, "args.txt"), "utf8").trimEnd().split("\n");
    expect(words).toContain(`agent.endpoint=${publicUrl.replace(/,/g, "\\,")}`);
    expect(words).toContain(`agent.token=${res.body.api_token}`);
    expect(words).toContain("agent.clusterId=quoted");
    expect(words.slice(words.indexOf("--namespace"), words.indexOf("--namespace") + 2)).toEqual([
      "--namespace",
      "agent-ns",
    ]);
  });

  it("refuses a SPOTOPT_PUBLIC_URL that is not a plain http(s) URL, naming the variable", async () => {
    for (const bad of ["ftp://x.example", "https://user:pw@x.example", "https://x.example/?q=1", "not a url"])
      await expect(t.startReplica({ env: { SPOTOPT_PUBLIC_URL: bad } })).rejects.toThrow(/SPOTOPT_PUBLIC_URL/);
  });
});

describe("Cache-Control", () => {
  it("is no-store on every answer that carries a token or an export", async () => {
    const email = `cache-${Date.now()}@example.com`;
    const signup = await t.call("POST", "/api/auth/signup", {
      body: { org_name: "Cache Org", email, password: "SecurePass123!" },
    });
    const verify = await t.call("POST", "/api/auth/verify-email", {
      body: { token: t.mailedCode(email), password: "SecurePass123!" },
    });
    const login = await t.call("POST", "/api/auth/token", { body: { email, password: "SecurePass123!" } });
    const refresh = await t.call("POST", "/api/auth/refresh", { body: { refresh_token: login.body.refresh_token } });
    const invite = await t.call("POST", "/settings/invite", {
      token: login.body.access_token,
      body: { email: `m-${email}`, role: "viewer" },
    });
    const accept = await t.call("POST", "/api/auth/accept-invite", {
      body: { invite_token: t.mailedCode(`m-${email}`), password: "MemberPass123!" },
    });
    const connect = await t.call("POST", "/clusters/connect", {
      token: login.body.access_token,
      body: { cluster_id: "cache-check" },
    });
    const json = await t.call("GET", "/audit/export", { token: login.body.access_token });
    const csv = await t.call("GET", "/audit/export?format=csv&download=true", { token: login.body.access_token });
    const answers = { signup, verify, login, refresh, invite, accept, connect, json, csv };
    for (const [name, res] of Object.entries(answers)) {
      expect(res.status, name).toBeLessThan(300);
      expect(res.headers.get("cache-control"), name).toBe("no-store");
    }
  });
});

describe("invite limits", () => {
  it("count per inviting user and per organisation, whatever the IP, and leave other organisations alone", async () => {
    const limited = await t.startReplica({
      config: { trustProxy: true, rateLimits: { invitePerHourPerUser: 2, invitePerHourPerOrganisation: 3 } },
    });
    const org = await t.signup("Invite Limits Org");
    const admin = await t.addMember(org, "admin");
    const other = await t.signup("Other Invite Org");
    const invite = (who: SignedUp, n: number, ip: string): Promise<{ status: number }> =>
      call(limited.url, "POST", "/settings/invite", {
        token: who.accessToken,
        body: { email: `limit-${n}-${who.userId}@example.com`, role: "viewer" },
        headers: { "x-forwarded-for": ip },
      });
    // refused as invalid before any counting: junk does not use up the owner's or the organisation's invites
    for (let n = 0; n < 4; n++) {
      const junk = await call(limited.url, "POST", "/settings/invite", {
        token: org.accessToken,
        body: { email: "not-an-email", role: "viewer" },
      });
      expect(junk.status).toBe(422);
    }
    expect((await invite(org, 1, "10.0.0.1")).status).toBe(201);
    expect((await invite(org, 2, "10.0.0.2")).status).toBe(201);
    const perUser = await invite(org, 3, "10.0.0.3");
    expect(perUser.status).toBe(429);
    // The organisation's third invite of the hour comes from another member; its fourth is refused.
    expect((await invite(admin, 4, "10.0.0.4")).status).toBe(201);
    expect((await invite(admin, 5, "10.0.0.5")).status).toBe(429);
    expect((await invite(other, 6, "10.0.0.6")).status).toBe(201);
  });
});

describe("refusals in the audit chain", () => {
  it("a flood of identical denials writes one entry with a count per window, not one per request", async () => {
    const replica = await t.startReplica();
    const before = (await t.facades[0]!.audit.readChain(owner.namespace)).entries.length;
    const tries = 25;
    for (let i = 0; i < tries; i++) {
      const res = await call(replica.url, "POST", "/settings/invite", {
        token: viewer.accessToken,
        body: { email: `flood-${i}@example.com`, role: "viewer" },
      });
      expect(res.status).toBe(403);
    }
    const during = (await t.facades[0]!.audit.readChain(owner.namespace)).entries.slice(before);
    expect(during).toEqual([
      expect.objectContaining({ actor: viewer.email, outcome: "denied", after: expect.objectContaining({ count: 1 }) }),
    ]);
    // Stopping the replica writes what it counted since.
    await stopReplica(replica);
    const after = (await t.facades[0]!.audit.readChain(owner.namespace)).entries.slice(before);
    expect(after).toHaveLength(2);
    expect(after[1]).toMatchObject({
      actor: viewer.email,
      outcome: "denied",
      event: "POST /settings/invite",
      after: { count: tries - 1, aggregated: true },
    });
  });

  it("failed logins of one email are aggregated the same way, however its case is written", async () => {
    const replica = await t.startReplica();
    const before = (await t.facades[0]!.audit.readChain(owner.namespace)).entries.length;
    const spellings = [owner.email, owner.email.toUpperCase(), owner.email[0]!.toUpperCase() + owner.email.slice(1)];
    for (let i = 0; i < 12; i++) {
      const res = await call(replica.url, "POST", "/api/auth/token", {
        body: { email: spellings[i % spellings.length], password: `wrong-${i}` },
      });
      expect(res.status).toBe(401);
    }
    await stopReplica(replica);
    const entries = (await t.facades[0]!.audit.readChain(owner.namespace)).entries.slice(before);
    expect(entries.map((e) => [e.event, e.outcome, (e.after as { count: number }).count])).toEqual([
      ["user.login", "failure", 1],
      ["user.login", "failure", 11],
    ]);
    expect(new Set(entries.map((e) => e.actor))).toEqual(new Set([owner.email.toLowerCase()]));
  });
});
