// Test helper: local API server + CRDs + one or more real facades (real JWT auth, audit chain), and signup/login helpers.
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { KubeClient } from "../../src-shared/kube/client.js";
import type { FacadeConfig } from "../../operator/facade/config.js";
import { startFacade, type RunningFacade, type StartFacadeOptions } from "../../operator/facade/start.js";
import { startTestCluster, type TestClusterOptions } from "./cluster.js";

export interface CallResult {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

export interface CallOptions {
  token?: string | undefined;
  body?: unknown;
  /** Sent as-is instead of JSON.stringify(body). */
  raw?: string;
  headers?: Record<string, string>;
}

export interface SignedUp {
  email: string;
  password: string;
  orgId: string;
  namespace: string;
  userId: string;
  accessToken: string;
  refreshToken: string;
}

export interface TestFacade {
  server: LocalApiServer;
  client: KubeClient;
  /** facades[0] is the default target of call(). */
  facades: RunningFacade[];
  url: string;
  call(method: string, path: string, opts?: CallOptions, facade?: RunningFacade): Promise<CallResult>;
  /** POST /api/auth/signup with a fresh org and email, then POST /api/auth/verify-email with the mailed code. */
  signup(orgName?: string): Promise<SignedUp>;
  /** POST /api/auth/signup alone (the code stays in the outbox); the answer as it came. */
  requestSignup(email: string, opts?: { orgName?: string; password?: string }): Promise<CallResult>;
  /** POST /settings/invite as `by`; the answer as it came (the code goes to the outbox). */
  invite(by: SignedUp, email: string, role: "owner" | "admin" | "viewer"): Promise<CallResult>;
  /** Every value of a Secret in the system namespace (signup-<id>, invite-<id>), decoded and joined by newlines. */
  storedSecretText(name: string): Promise<string>;
  /** The outbox file every facade of this test writes its mail to. */
  outbox: string;
  /** Mails written to the outbox for `to`, oldest first. */
  mails(to: string): Array<{ to: string; subject: string; text: string }>;
  /** The one-time code (verification or invite) of the newest mail to `to`; throws when it carries none. */
  mailedCode(to: string): string;
  /** Invites `role` into the org of `owner` and accepts the invite; returns the new user's tokens. */
  addMember(owner: SignedUp, role: "owner" | "admin" | "viewer"): Promise<SignedUp>;
  /** Starts one more facade against the same API server (a second replica). */
  startReplica(overrides?: Partial<StartFacadeOptions>): Promise<RunningFacade>;
  stop(): Promise<void>;
}

/** Limits high enough that suites signing up many organisations from 127.0.0.1 are not throttled. */
export const RELAXED_RATE_LIMITS: FacadeConfig["rateLimits"] = {
  signupPerHour: 10_000,
  tokenPerMinute: 10_000,
  logoutPerMinute: 10_000,
  invitePerHourPerUser: 10_000,
  invitePerHourPerOrganisation: 10_000,
};

export const ADMIN = { email: "root@spot-optimizer.test", password: "Root-Password-123" };

export async function call(base: string, method: string, path: string, opts: CallOptions = {}): Promise<CallResult> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined && !headers["content-type"]) headers["content-type"] = "application/json";
  const res = await fetch(base + path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

/**
 * Starts the API server with our CRDs and one facade (real auth) with relaxed rate limits unless
 * `options.config.rateLimits` says otherwise. A super_admin ADMIN is bootstrapped.
 */
export async function startTestFacade(
  options: Partial<StartFacadeOptions> = {},
  cluster: { crds?: TestClusterOptions["crds"] } = {},
): Promise<TestFacade> {
  const server = await startTestCluster({ crds: cluster.crds ?? "project" });
  const client = new KubeClient(server.kubeConfig);
  const facades: RunningFacade[] = [];
  const outbox = join(tmpdir(), `spotopt-outbox-${randomUUID()}`, "outbox.jsonl");
  const mails = (to: string): Array<{ to: string; subject: string; text: string }> =>
    existsSync(outbox)
      ? readFileSync(outbox, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((line) => JSON.parse(line) as { to: string; subject: string; text: string })
          .filter((m) => m.to === to.trim().toLowerCase())
      : [];
  const start = async (overrides: Partial<StartFacadeOptions> = {}): Promise<RunningFacade> => {
    const merged = { ...options, ...overrides };
    const facade = await startFacade({
      kubeConfig: server.kubeConfig,
      port: 0,
      env: {},
      logger: pino({ level: "silent" }),
      admin: ADMIN,
      ...merged,
      config: {
        mailOutbox: outbox,
        ...(merged.config ?? {}),
        rateLimits: { ...RELAXED_RATE_LIMITS, ...(merged.config?.rateLimits ?? {}) },
      },
    });
    facades.push(facade);
    return facade;
  };
  await start();
  const t: TestFacade = {
    server,
    client,
    facades,
    url: facades[0]!.url,
    call: (method, path, opts, facade) => call((facade ?? facades[0]!).url, method, path, opts),
    outbox,
    mails,
    mailedCode(to) {
      const code = /code: (\S+)/.exec(mails(to).at(-1)?.text ?? "")?.[1];
      if (!code) throw new Error(`no mail with a code to ${to}`);
      return code;
    },
    requestSignup(email, { orgName = `Org ${randomUUID().slice(0, 8)}`, password = "Pass-123456" } = {}) {
      return t.call("POST", "/api/auth/signup", { body: { org_name: orgName, email, password } });
    },
    invite(by, email, role) {
      return t.call("POST", "/settings/invite", { token: by.accessToken, body: { email, role } });
    },
    async storedSecretText(name) {
      const secret = await client.get<{ data?: Record<string, string> }>({
        apiVersion: "v1",
        kind: "Secret",
        namespace: "spot-optimizer-system",
        name,
      });
      return Object.values(secret.data ?? {})
        .map((v) => Buffer.from(v, "base64").toString("utf8"))
        .join("\n");
    },
    async signup(orgName = `Org ${randomUUID().slice(0, 8)}`) {
      const email = `owner-${randomUUID().slice(0, 8)}@example.com`;
      const password = "SecurePass123!";
      const asked = await t.requestSignup(email, { orgName, password });
      if (asked.status !== 202) throw new Error(`signup failed: ${asked.status} ${asked.text}`);
      const res = await t.call("POST", "/api/auth/verify-email", { body: { token: t.mailedCode(email), password } });
      if (res.status !== 201) throw new Error(`verification failed: ${res.status} ${res.text}`);
      return {
        email,
        password,
        orgId: res.body.org_id,
        namespace: res.body.namespace,
        userId: res.body.user_id,
        accessToken: res.body.access_token,
        refreshToken: res.body.refresh_token,
      };
    },
    async addMember(owner, role) {
      const email = `${role}-${randomUUID().slice(0, 8)}@example.com`;
      const password = "MemberPass123!";
      const invite = await t.invite(owner, email, role);
      if (invite.status !== 201) throw new Error(`invite failed: ${invite.status} ${invite.text}`);
      const accepted = await t.call("POST", "/api/auth/accept-invite", {
        body: { invite_token: t.mailedCode(email), password },
      });
      if (accepted.status !== 201) throw new Error(`accept failed: ${accepted.status} ${accepted.text}`);
      return {
        email,
        password,
        orgId: owner.orgId,
        namespace: owner.namespace,
        userId: accepted.body.user.id,
        accessToken: accepted.body.access_token,
        refreshToken: accepted.body.refresh_token,
      };
    },
    startReplica: start,
    async stop() {
      for (const f of facades.splice(0)) await f.stop();
      client.close();
      await server.stop();
      rmSync(join(outbox, ".."), { recursive: true, force: true });
    },
  };
  return t;
}
