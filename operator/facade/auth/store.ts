// Users, sessions (refresh-token families), invites and the JWT key, kept as labelled Secrets in the system namespace.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import {
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type ObjectCache,
  type V1Secret,
} from "@kubernetes/client-node";
import { isConflict, type KubeClient, type KubeObject } from "../../../src-shared/kube/client.js";
import { ConflictError } from "../errors.js";
import type { Role } from "../http.js";

export const AUTH_TYPE_LABEL = "spotoptimizer.io/auth-type";
export const ORG_ID_LABEL = "spotoptimizer.io/org-id";
export const USER_ID_LABEL = "spotoptimizer.io/user-id";
export const SIGNING_KEY_SECRET = "spot-optimizer-facade-jwt-key";

export interface UserRecord {
  userId: string;
  email: string;
  passwordHash: string;
  role: Role;
  /** "" for a platform super_admin without an organisation. */
  orgId: string;
  namespace: string;
  createdAt: string;
  lastLogin: string;
  status: "active";
  /** Cluster (account) the user last switched to with PATCH /settings/context; "" = none. */
  activeAccount?: string;
}

export interface SessionRecord {
  sessionId: string;
  userId: string;
  /** jti of the only refresh token of this family that may still be used. */
  currentTokenId: string;
  expiresAt: string;
  revoked: boolean;
  reason: string;
}

export interface InviteRecord {
  inviteId: string;
  email: string;
  role: Role;
  orgId: string;
  namespace: string;
  invitedBy: string;
  expiresAt: string;
  /** SHA-256 (hex) of the invite token's secret; the token itself is shown once to the inviter, never stored. */
  tokenHash: string;
}

/** A signup waiting for its email address to be verified: nothing exists until the code comes back. */
export interface PendingSignupRecord {
  signupId: string;
  email: string;
  orgName: string;
  passwordHash: string;
  expiresAt: string;
  /** SHA-256 (hex) of the verification code's secret; the code itself is only mailed, never stored. */
  tokenHash: string;
}

const SECRET = { apiVersion: "v1", kind: "Secret" } as const;

type SecretObject = KubeObject & { data?: Record<string, string>; type?: string };

function encode(fields: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, Buffer.from(v, "utf8").toString("base64")]));
}

/** Decoded data per Secret object: the watch replaces the object on every change, so identity marks a version. */
const decodedSecrets = new WeakMap<object, Readonly<Record<string, string>>>();

/** The Secret's data decoded from base64 (every authenticated request reads its user and session this way). */
function decode(secret: { data?: Record<string, string> | undefined }): Readonly<Record<string, string>> {
  let decoded = decodedSecrets.get(secret);
  if (!decoded) {
    decoded = Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
    );
    decodedSecrets.set(secret, decoded);
  }
  return decoded;
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Secret name of a user: a hash of the email, so the name itself is the uniqueness lock and leaks no address. */
export function userSecretName(email: string): string {
  return `user-${createHash("sha256").update(normaliseEmail(email)).digest("hex").slice(0, 40)}`;
}

function userFromSecret(secret: { data?: Record<string, string> | undefined }): UserRecord {
  const d = decode(secret);
  return {
    userId: d.userId ?? "",
    email: d.email ?? "",
    passwordHash: d.passwordHash ?? "",
    role: (d.role ?? "viewer") as Role,
    orgId: d.orgId ?? "",
    namespace: d.namespace ?? "",
    createdAt: d.createdAt ?? "",
    lastLogin: d.lastLogin ?? "",
    status: "active",
    activeAccount: d.activeAccount ?? "",
  };
}

function sessionFromSecret(secret: { data?: Record<string, string> | undefined }): SessionRecord {
  const d = decode(secret);
  return {
    sessionId: d.sessionId ?? "",
    userId: d.userId ?? "",
    currentTokenId: d.currentTokenId ?? "",
    expiresAt: d.expiresAt ?? "",
    revoked: d.revoked === "true",
    reason: d.reason ?? "",
  };
}

function inviteFromSecret(secret: { data?: Record<string, string> | undefined }): InviteRecord {
  const d = decode(secret);
  return {
    inviteId: d.inviteId ?? "",
    email: d.email ?? "",
    role: (d.role ?? "viewer") as Role,
    orgId: d.orgId ?? "",
    namespace: d.namespace ?? "",
    invitedBy: d.invitedBy ?? "",
    expiresAt: d.expiresAt ?? "",
    tokenHash: d.tokenHash ?? "",
  };
}

function pendingSignupFromSecret(secret: { data?: Record<string, string> | undefined }): PendingSignupRecord {
  const d = decode(secret);
  return {
    signupId: d.signupId ?? "",
    email: d.email ?? "",
    orgName: d.orgName ?? "",
    passwordHash: d.passwordHash ?? "",
    expiresAt: d.expiresAt ?? "",
    tokenHash: d.tokenHash ?? "",
  };
}

function userFields(user: UserRecord): Record<string, string> {
  return Object.fromEntries(
    Object.entries(user)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  );
}

export type RotationResult = "rotated" | "reused" | "revoked" | "expired" | "missing";

/**
 * Cluster-backed auth state. Writes go to the API server (with resourceVersion where two replicas
 * may race); reads on the request path come from an informer over the labelled Secrets.
 */
export class AuthStore {
  private informer: (Informer<V1Secret> & ObjectCache<V1Secret>) | undefined;
  private synced = false;
  /** Sessions this replica revoked, visible before its own watch event arrives. */
  private readonly locallyRevoked = new Set<string>();

  private readonly client: KubeClient;
  private readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  private readonly now: () => Date;
  /** Name of the Secret holding the JWT signing key (data key `key`); a Helm release may provide its own. */
  private readonly signingKeySecret: string;

  constructor(options: {
    client: KubeClient;
    kubeConfig: KubeConfig;
    namespace: string;
    now: () => Date;
    signingKeySecret?: string;
  }) {
    this.client = options.client;
    this.kubeConfig = options.kubeConfig;
    this.namespace = options.namespace;
    this.now = options.now;
    this.signingKeySecret = options.signingKeySecret ?? SIGNING_KEY_SECRET;
  }

  private ref(name: string): { apiVersion: "v1"; kind: "Secret"; namespace: string; name: string } {
    return { ...SECRET, namespace: this.namespace, name };
  }

  /** Creates the system namespace if needed and starts the watch; resolves once the first list is in. */
  async start(): Promise<void> {
    await this.ensureNamespace();
    const path = `/api/v1/namespaces/${this.namespace}/secrets`;
    const list = async (): Promise<KubernetesListObject<V1Secret>> =>
      (await this.client.list(
        { ...SECRET, namespace: this.namespace },
        { labelSelector: AUTH_TYPE_LABEL },
      )) as unknown as KubernetesListObject<V1Secret>;
    this.informer = makeInformer<V1Secret>(this.kubeConfig, path, list, AUTH_TYPE_LABEL);
    this.informer.on("error", () => {
      // The informer stops on an error; restart it after a pause so the cache keeps following the cluster.
      setTimeout(() => {
        this.informer?.start().catch(() => undefined);
      }, 1000).unref();
    });
    await this.informer.start();
    this.synced = true;
  }

  async stop(): Promise<void> {
    const informer = this.informer;
    this.informer = undefined;
    await informer?.stop();
  }

  hasSynced(): boolean {
    return this.synced;
  }

  private async ensureNamespace(): Promise<void> {
    try {
      await this.client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: this.namespace } });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }

  private cached(type: string): V1Secret[] {
    return (this.informer?.list(this.namespace) ?? []).filter((s) => s.metadata?.labels?.[AUTH_TYPE_LABEL] === type);
  }

  /** The HS256 key; generated on first start. Two replicas racing: the loser's create answers 409 and it reads the winner's. */
  async signingKey(): Promise<Uint8Array> {
    const existing = await this.client.getIfExists<SecretObject>(this.ref(this.signingKeySecret));
    if (existing?.data?.key) return Buffer.from(existing.data.key, "base64");
    try {
      const key = randomBytes(32);
      await this.client.create<SecretObject>({
        ...this.ref(this.signingKeySecret),
        metadata: {
          name: this.signingKeySecret,
          namespace: this.namespace,
          labels: { [AUTH_TYPE_LABEL]: "signing-key" },
        },
        type: "Opaque",
        data: { key: key.toString("base64") },
      });
      return key;
    } catch (err) {
      if (!isConflict(err)) throw err;
      const winner = await this.client.get<SecretObject>(this.ref(this.signingKeySecret));
      if (!winner.data?.key)
        throw new Error(`Secret ${this.namespace}/${this.signingKeySecret} has no data.key`, { cause: err });
      return Buffer.from(winner.data.key, "base64");
    }
  }

  // --- users ---------------------------------------------------------------------------------

  /** Creates the user; ConflictError when the email is taken (the Secret name is derived from it). */
  async createUser(user: UserRecord): Promise<void> {
    const name = userSecretName(user.email);
    try {
      await this.client.create<SecretObject>({
        ...this.ref(name),
        metadata: {
          name,
          namespace: this.namespace,
          labels: { [AUTH_TYPE_LABEL]: "user", [USER_ID_LABEL]: user.userId, [ORG_ID_LABEL]: user.orgId || "none" },
        },
        type: "Opaque",
        data: encode(userFields(user)),
      });
    } catch (err) {
      if (isConflict(err)) throw new ConflictError("an account with this email already exists");
      throw err;
    }
  }

  /** Live read (not the cache): login and signup need the newest password hash. */
  async findUserByEmail(email: string): Promise<{ user: UserRecord; resourceVersion: string } | undefined> {
    const secret = await this.client.getIfExists<SecretObject>(this.ref(userSecretName(email)));
    if (!secret) return undefined;
    return { user: userFromSecret(secret), resourceVersion: secret.metadata?.resourceVersion ?? "" };
  }

  /** Read-modify-write with resourceVersion; retried on conflict so a concurrent login never loses a change. */
  async updateUser(email: string, change: (user: UserRecord) => UserRecord): Promise<UserRecord | undefined> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const secret = await this.client.getIfExists<SecretObject>(this.ref(userSecretName(email)));
      if (!secret) return undefined;
      const next = change(userFromSecret(secret));
      try {
        await this.client.replace<SecretObject>({ ...secret, ...SECRET, data: encode(userFields(next)) });
        return next;
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    throw new Error(`user ${userSecretName(email)} kept changing under us`);
  }

  async deleteUser(email: string): Promise<void> {
    await this.client.delete(this.ref(userSecretName(email)));
  }

  cachedUsers(filter: (u: UserRecord) => boolean = () => true): UserRecord[] {
    return this.cached("user").map(userFromSecret).filter(filter);
  }

  /** O(1) cache lookup: the Secret name derives from the email. */
  cachedUserByEmail(email: string): UserRecord | undefined {
    const secret = this.informer?.get(userSecretName(email), this.namespace);
    return secret ? userFromSecret(secret) : undefined;
  }

  cachedUserById(userId: string): UserRecord | undefined {
    return this.cachedUsers((u) => u.userId === userId)[0];
  }

  // --- sessions (refresh-token families) -----------------------------------------------------

  async createSession(userId: string, tokenId: string, expiresAt: Date): Promise<SessionRecord> {
    const session: SessionRecord = {
      sessionId: randomUUID(),
      userId,
      currentTokenId: tokenId,
      expiresAt: expiresAt.toISOString(),
      revoked: false,
      reason: "",
    };
    await this.client.create<SecretObject>({
      ...this.ref(`session-${session.sessionId}`),
      metadata: {
        name: `session-${session.sessionId}`,
        namespace: this.namespace,
        labels: { [AUTH_TYPE_LABEL]: "session", [USER_ID_LABEL]: userId },
      },
      type: "Opaque",
      data: encode({ ...session, revoked: "false" }),
    });
    return session;
  }

  /**
   * Refresh-token rotation with reuse detection. Only the family's current token may rotate; a
   * concurrent rotation on another replica makes our replace conflict, and the re-read then sees
   * the presented token as stale, i.e. reused: the whole family is revoked.
   */
  async rotateSession(sessionId: string, presentedTokenId: string, nextTokenId: string): Promise<RotationResult> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const secret = await this.client.getIfExists<SecretObject>(this.ref(`session-${sessionId}`));
      if (!secret) return "missing";
      const session = sessionFromSecret(secret);
      if (session.revoked) return "revoked";
      if (Date.parse(session.expiresAt) <= this.now().getTime()) return "expired";
      const reused = session.currentTokenId !== presentedTokenId;
      const next: SessionRecord = reused
        ? { ...session, revoked: true, reason: "refresh token reuse detected" }
        : { ...session, currentTokenId: nextTokenId };
      try {
        await this.writeSession(secret, next);
        if (reused) this.locallyRevoked.add(sessionId);
        return reused ? "reused" : "rotated";
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    throw new Error(`session ${sessionId} kept changing under us`);
  }

  private async writeSession(secret: SecretObject, session: SessionRecord): Promise<void> {
    const labels = { ...(secret.metadata?.labels ?? {}), "spotoptimizer.io/revoked": String(session.revoked) };
    await this.client.replace<SecretObject>({
      ...secret,
      ...SECRET,
      metadata: { ...secret.metadata, labels },
      data: encode({ ...session, revoked: String(session.revoked) }),
    });
  }

  async revokeSession(sessionId: string, reason: string): Promise<void> {
    this.locallyRevoked.add(sessionId);
    for (let attempt = 0; attempt < 10; attempt++) {
      const secret = await this.client.getIfExists<SecretObject>(this.ref(`session-${sessionId}`));
      if (!secret) return;
      const session = sessionFromSecret(secret);
      if (session.revoked) return;
      try {
        await this.writeSession(secret, { ...session, revoked: true, reason });
        return;
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
  }

  /** Revokes every session of a user (password change, deletion), optionally keeping the caller's. */
  async revokeUserSessions(userId: string, reason: string, keepSessionId?: string): Promise<number> {
    const sessions = await this.client.list<SecretObject>(
      { ...SECRET, namespace: this.namespace },
      { labelSelector: `${AUTH_TYPE_LABEL}=session,${USER_ID_LABEL}=${userId}` },
    );
    let revoked = 0;
    for (const secret of sessions.items) {
      const session = sessionFromSecret(secret);
      if (session.revoked || session.sessionId === keepSessionId) continue;
      await this.revokeSession(session.sessionId, reason);
      revoked += 1;
    }
    return revoked;
  }

  /** Why a revoked session ended, as recorded (logout, password changed, refresh token reuse detected, …). */
  sessionEndReason(sessionId: string): string | undefined {
    const secret = this.informer?.get(`session-${sessionId}`, this.namespace);
    return secret ? sessionFromSecret(secret).reason || undefined : undefined;
  }

  /** Request-path check: this replica's own revocations plus what the watch has seen from others. */
  isSessionRevoked(sessionId: string): boolean {
    if (this.locallyRevoked.has(sessionId)) return true;
    const secret = this.informer?.get(`session-${sessionId}`, this.namespace);
    return secret ? sessionFromSecret(secret).revoked : false;
  }

  /** Deletes a user's sessions that ended long enough ago that no token of theirs can still be valid. */
  async pruneSessions(userId: string, graceMs: number): Promise<void> {
    const cutoff = this.now().getTime() - graceMs;
    for (const secret of this.cached("session")) {
      const session = sessionFromSecret(secret);
      if (session.userId !== userId || Date.parse(session.expiresAt) > cutoff) continue;
      await this.client.delete(this.ref(`session-${session.sessionId}`));
    }
  }

  /** Every user of an organisation, read live (admin deletion must not miss one the watch has not delivered). */
  async listOrgUsers(orgId: string): Promise<UserRecord[]> {
    const list = await this.client.list<SecretObject>(
      { ...SECRET, namespace: this.namespace },
      { labelSelector: `${AUTH_TYPE_LABEL}=user,${ORG_ID_LABEL}=${orgId}` },
    );
    return list.items.map(userFromSecret);
  }

  async deleteOrgInvites(orgId: string): Promise<void> {
    const list = await this.client.list<SecretObject>(
      { ...SECRET, namespace: this.namespace },
      { labelSelector: `${AUTH_TYPE_LABEL}=invite,${ORG_ID_LABEL}=${orgId}` },
    );
    for (const secret of list.items) await this.client.delete(this.ref(secret.metadata?.name ?? ""));
  }

  // --- invites -------------------------------------------------------------------------------

  async createInvite(invite: Omit<InviteRecord, "inviteId">): Promise<InviteRecord> {
    const record = { ...invite, inviteId: randomUUID() };
    await this.client.create<SecretObject>({
      ...this.ref(`invite-${record.inviteId}`),
      metadata: {
        name: `invite-${record.inviteId}`,
        namespace: this.namespace,
        labels: { [AUTH_TYPE_LABEL]: "invite", [ORG_ID_LABEL]: record.orgId },
      },
      type: "Opaque",
      data: encode({ ...record }),
    });
    return record;
  }

  async readInvite(inviteId: string): Promise<InviteRecord | undefined> {
    if (!/^[0-9a-f-]{36}$/.test(inviteId)) return undefined;
    const secret = await this.client.getIfExists<SecretObject>(this.ref(`invite-${inviteId}`));
    return secret ? inviteFromSecret(secret) : undefined;
  }

  /** Deletes the invite; false when it was already gone (so of two concurrent accepts only one claims it). */
  async deleteInvite(inviteId: string): Promise<boolean> {
    return await this.client.delete(this.ref(`invite-${inviteId}`));
  }

  cachedInvites(orgId: string): InviteRecord[] {
    return this.cached("invite")
      .map(inviteFromSecret)
      .filter((i) => i.orgId === orgId);
  }

  // --- pending signups ---------------------------------------------------------------------

  async createPendingSignup(signup: Omit<PendingSignupRecord, "signupId">): Promise<PendingSignupRecord> {
    const record = { ...signup, signupId: randomUUID() };
    await this.client.create<SecretObject>({
      ...this.ref(`signup-${record.signupId}`),
      metadata: {
        name: `signup-${record.signupId}`,
        namespace: this.namespace,
        labels: { [AUTH_TYPE_LABEL]: "signup" },
      },
      type: "Opaque",
      data: encode({ ...record }),
    });
    return record;
  }

  async readPendingSignup(signupId: string): Promise<PendingSignupRecord | undefined> {
    if (!/^[0-9a-f-]{36}$/.test(signupId)) return undefined;
    const secret = await this.client.getIfExists<SecretObject>(this.ref(`signup-${signupId}`));
    return secret ? pendingSignupFromSecret(secret) : undefined;
  }

  /** Deletes the pending signup; false when it was already gone (of two concurrent verifications one wins). */
  async deletePendingSignup(signupId: string): Promise<boolean> {
    return await this.client.delete(this.ref(`signup-${signupId}`));
  }

  /** Removes pending signups whose code has expired (they can never be verified). */
  async sweepPendingSignups(): Promise<void> {
    const now = this.now().getTime();
    for (const secret of this.cached("signup")) {
      const record = pendingSignupFromSecret(secret);
      if (Date.parse(record.expiresAt) <= now) await this.deletePendingSignup(record.signupId);
    }
  }
}
