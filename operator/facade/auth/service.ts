// Auth service: signup, login, refresh rotation, logout, password change, invites, bootstrap admin and request authentication.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import type express from "express";
import type { KubeConfig } from "@kubernetes/client-node";
import type { KubeClient } from "../../../src-shared/kube/client.js";
import type { FacadeConfig } from "../config.js";
import {
  ConflictError,
  ForbiddenError,
  HttpError,
  NotFoundError,
  UnauthorizedError,
  UnprocessableError,
} from "../errors.js";
import type { AuthContext, Role } from "../http.js";
import { createTokenCodec, type TokenCodec, type TokenSubject, type VerifiedToken } from "./jwt.js";
import {
  createOrganisation,
  deleteOrganisation,
  getOrganisation,
  isOrgId,
  organisationLive,
  type Organisation,
} from "./orgs.js";
import { hashPassword, verifyAgainstDummy, verifyPassword } from "./password.js";
import type { Mailer } from "../mail.js";
import { accountExistsMail, inviteMail, signupMail } from "./mails.js";
import { AuthStore, normaliseEmail, type InviteRecord, type UserRecord } from "./store.js";

function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresInSeconds: number;
  refreshExpiresInSeconds: number;
  sessionId: string;
}

export interface AuthServiceOptions {
  client: KubeClient;
  kubeConfig: KubeConfig;
  config: FacadeConfig;
  now: () => Date;
  /** Delivers verification codes and invites; without one, signup and invites answer 501. */
  mailer?: Mailer | undefined;
}

/** How long a signup's verification code and an invite stay valid. */
export const SIGNUP_CODE_TTL_SECONDS = 86_400;
export const INVITE_TTL_SECONDS = 7 * 86_400;

/** `<record id>.<32 random bytes>`: the id finds the record, the secret (stored only as a hash) proves the mailbox. */
export const ONE_TIME_CODE = /^[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/;

function newSecret(): { secret: string; hash: string } {
  const secret = randomBytes(32).toString("base64url");
  return { secret, hash: sha256Hex(secret) };
}

/** True when `secret` hashes to the stored hash (constant time) and the record has not expired. */
function secretMatches(
  record: { tokenHash: string; expiresAt: string } | undefined,
  secret: string,
  now: Date,
): boolean {
  return (
    record !== undefined &&
    record.tokenHash.length === 64 &&
    timingSafeEqual(Buffer.from(record.tokenHash, "hex"), Buffer.from(sha256Hex(secret), "hex")) &&
    Date.parse(record.expiresAt) > now.getTime()
  );
}

/** Header a super_admin sends to act on one organisation's tenant routes. */
export const ORG_HEADER = "x-org-id";

function bearer(req: express.Request): string {
  const header = req.headers.authorization;
  const match = typeof header === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) throw new UnauthorizedError("missing or malformed Authorization: Bearer header");
  return match[1]!;
}

/** Longest life of an impersonation token; a longer one (older key, forged TTL) is refused. */
export const IMPERSONATION_MAX_SECONDS = 3600;

/** The caller of an impersonation token: the organisation it was issued for, never another (X-Org-Id is ignored). */
function impersonationContext(claims: VerifiedToken): AuthContext {
  if (claims.expiresAtSeconds - claims.issuedAtSeconds > IMPERSONATION_MAX_SECONDS)
    throw new UnauthorizedError("impersonation token lives longer than an hour");
  return {
    userId: claims.userId,
    email: claims.email,
    role: "owner",
    orgId: claims.orgId,
    namespace: claims.namespace,
    sessionId: claims.sessionId,
    impersonating: true,
  };
}

export class AuthService {
  readonly store: AuthStore;
  private codec: TokenCodec | undefined;
  private readonly client: KubeClient;
  private readonly config: FacadeConfig;
  private readonly now: () => Date;
  private readonly mailer: Mailer | undefined;

  constructor(options: AuthServiceOptions) {
    this.mailer = options.mailer;
    this.client = options.client;
    this.config = options.config;
    this.now = options.now;
    this.store = new AuthStore({
      client: options.client,
      kubeConfig: options.kubeConfig,
      namespace: options.config.systemNamespace,
      now: options.now,
      signingKeySecret: options.config.jwtKeySecret,
    });
  }

  /** Starts the watch over users/sessions and loads (or creates) the signing key. */
  async start(): Promise<void> {
    await this.store.start();
    const key = await this.store.signingKey();
    this.codec = createTokenCodec(
      key,
      {
        issuer: this.config.jwtIssuer,
        audience: this.config.jwtAudience,
        accessTokenTtlSeconds: this.config.accessTokenTtlSeconds,
        refreshTokenTtlSeconds: this.config.refreshTokenTtlSeconds,
      },
      this.now,
    );
  }

  async stop(): Promise<void> {
    await this.store.stop();
  }

  hasSynced(): boolean {
    return this.store.hasSynced() && this.codec !== undefined;
  }

  private tokens(): TokenCodec {
    if (!this.codec) throw new Error("AuthService.start() has not completed");
    return this.codec;
  }

  private subjectOf(user: UserRecord, sessionId: string): TokenSubject {
    return {
      userId: user.userId,
      email: user.email,
      role: user.role,
      orgId: user.orgId,
      namespace: user.namespace,
      sessionId,
    };
  }

  /** A new session (refresh-token family) with its first access + refresh token. */
  private async openSession(user: UserRecord): Promise<TokenPair> {
    const refreshTokenId = randomUUID();
    const expiresAt = new Date(this.now().getTime() + this.config.refreshTokenTtlSeconds * 1000);
    const session = await this.store.createSession(user.userId, refreshTokenId, expiresAt);
    return this.issue(user, session.sessionId, refreshTokenId);
  }

  private async issue(user: UserRecord, sessionId: string, refreshTokenId: string): Promise<TokenPair> {
    const subject = this.subjectOf(user, sessionId);
    const access = await this.tokens().sign(subject, "access");
    const refresh = await this.tokens().sign(subject, "refresh", refreshTokenId);
    return {
      accessToken: access.token,
      refreshToken: refresh.token,
      expiresInSeconds: access.expiresInSeconds,
      refreshExpiresInSeconds: refresh.expiresInSeconds,
      sessionId,
    };
  }

  private requireMailer(): Mailer {
    if (!this.mailer)
      throw new HttpError(501, "no mail transport is configured (SPOTOPT_MAIL_OUTBOX): addresses cannot be verified");
    return this.mailer;
  }

  /**
   * Self-service signup, step one. Answers alike for every address: the same hashing, one pending record and one
   * mail each time. A new address receives a one-time code (`verifySignup` creates the organisation); an address
   * that has an account receives a notice instead, so only the mailbox owner learns that it exists.
   */
  async requestSignup(input: {
    orgName: string;
    email: string;
    password: string;
  }): Promise<{ expiresInSeconds: number }> {
    const mailer = this.requireMailer();
    const email = normaliseEmail(input.email);
    const passwordHash = await hashPassword(input.password);
    const { secret, hash } = newSecret();
    const expiresAt = new Date(this.now().getTime() + SIGNUP_CODE_TTL_SECONDS * 1000).toISOString();
    const pending = await this.store.createPendingSignup({
      email,
      orgName: input.orgName,
      passwordHash,
      expiresAt,
      tokenHash: hash,
    });
    const exists = (await this.store.findUserByEmail(email)) !== undefined;
    const code = `${pending.signupId}.${secret}`;
    await mailer.send(
      exists
        ? accountExistsMail(email, this.config.publicUrl)
        : signupMail(email, code, this.config.publicUrl, { orgName: input.orgName, at: this.now().toISOString() }),
    );
    await this.store.sweepPendingSignups().catch(() => undefined);
    return { expiresInSeconds: SIGNUP_CODE_TTL_SECONDS };
  }

  /**
   * Signup, step two: the mailed code (single use, expiring) and the password it was asked with create the
   * organisation and its owner. Anyone can ask for any address, so the code alone must not decide whose password the
   * account gets: a mailbox owner who uses a code they never asked for, not knowing its password, creates nothing.
   */
  async verifySignup(
    code: string,
    password: string,
  ): Promise<{ user: UserRecord; org: Organisation; tokens: TokenPair }> {
    const [signupId = "", secret = ""] = code.split(".", 2);
    const pending = await this.store.readPendingSignup(signupId);
    if (!secretMatches(pending, secret, this.now())) throw new NotFoundError("verification code not found or expired");
    // Only the mailbox owner holds a code, so what this answer tells goes to no one else; the code stays usable.
    if (!(await verifyPassword(pending!.passwordHash, password)))
      throw new UnauthorizedError("the password is not the one this signup was asked with");
    if (!(await this.store.deletePendingSignup(signupId)))
      throw new NotFoundError("verification code not found or expired");
    if (await this.store.findUserByEmail(pending!.email))
      throw new ConflictError("an account with this email already exists");
    return this.signup({ orgName: pending!.orgName, email: pending!.email, passwordHash: pending!.passwordHash });
  }

  /**
   * Creates an organisation and its owner at once, without mail (verified signups; local mode's demo owner).
   * Takes a password or an already computed hash.
   */
  async signup(
    input: { orgName: string; email: string } & ({ password: string } | { passwordHash: string }),
  ): Promise<{ user: UserRecord; org: Organisation; tokens: TokenPair }> {
    const email = normaliseEmail(input.email);
    if (await this.store.findUserByEmail(email)) throw new ConflictError("an account with this email already exists");
    const passwordHash = "passwordHash" in input ? input.passwordHash : await hashPassword(input.password);
    const org = await createOrganisation(this.client, input.orgName, this.now());
    const user: UserRecord = {
      userId: randomUUID(),
      email,
      passwordHash,
      role: "owner",
      orgId: org.orgId,
      namespace: org.namespace,
      createdAt: this.now().toISOString(),
      lastLogin: this.now().toISOString(),
      status: "active",
    };
    try {
      await this.store.createUser(user);
    } catch (err) {
      // Lost a race for the same email: do not leave an organisation without an owner behind.
      await deleteOrganisation(this.client, org.orgId).catch(() => undefined);
      throw err;
    }
    return { user, org, tokens: await this.openSession(user) };
  }

  /** Same 401 for an unknown email and a wrong password, after the same amount of hashing work. */
  async login(emailInput: string, password: string): Promise<{ user: UserRecord; tokens: TokenPair }> {
    const email = normaliseEmail(emailInput);
    const found = await this.store.findUserByEmail(email);
    const ok = found ? await verifyPassword(found.user.passwordHash, password) : await verifyAgainstDummy(password);
    if (!found || !ok) throw new UnauthorizedError("incorrect email or password");
    const loginAt = this.now().toISOString();
    const user = (await this.store.updateUser(email, (u) => ({ ...u, lastLogin: loginAt }))) ?? found.user;
    await this.store.pruneSessions(user.userId, this.config.accessTokenTtlSeconds * 1000).catch(() => undefined);
    return { user, tokens: await this.openSession(user) };
  }

  /** Rotation: a used refresh token is dead; presenting it again revokes its whole family. */
  async refresh(refreshToken: string): Promise<{ user: UserRecord; tokens: TokenPair }> {
    const claims = await this.tokens().verify(refreshToken, "refresh");
    const nextTokenId = randomUUID();
    const result = await this.store.rotateSession(claims.sessionId, claims.tokenId, nextTokenId);
    if (result === "reused")
      throw new UnauthorizedError("refresh token was already used: the session has been revoked");
    if (result !== "rotated") throw new UnauthorizedError(`refresh token ${result === "missing" ? "unknown" : result}`);
    const found = await this.store.findUserByEmail(claims.email);
    if (!found || found.user.userId !== claims.userId) {
      await this.store.revokeSession(claims.sessionId, "user no longer exists");
      throw new UnauthorizedError("user no longer exists");
    }
    return { user: found.user, tokens: await this.issue(found.user, claims.sessionId, nextTokenId) };
  }

  async logout(auth: AuthContext, refreshToken?: string): Promise<void> {
    if (auth.sessionId) await this.store.revokeSession(auth.sessionId, "logout");
    if (refreshToken) {
      const claims = await this.tokens()
        .verify(refreshToken, "refresh")
        .catch(() => undefined);
      if (claims && claims.userId === auth.userId) await this.store.revokeSession(claims.sessionId, "logout");
    }
  }

  /** Verifies the current password, stores the new hash and signs every other session out. */
  async changePassword(auth: AuthContext, currentPassword: string, newPassword: string): Promise<number> {
    if (auth.impersonating) throw new ForbiddenError("an impersonation token cannot change a password");
    const found = await this.store.findUserByEmail(auth.email);
    if (!found || found.user.userId !== auth.userId) throw new UnauthorizedError("user no longer exists");
    if (!(await verifyPassword(found.user.passwordHash, currentPassword)))
      throw new UnprocessableError("body.current_password: incorrect password");
    if (currentPassword === newPassword)
      throw new UnprocessableError("body.new_password: must differ from the current password");
    const passwordHash = await hashPassword(newPassword);
    await this.store.updateUser(auth.email, (u) => ({ ...u, passwordHash }));
    return this.store.revokeUserSessions(auth.userId, "password changed", auth.sessionId);
  }

  /**
   * A short-lived access token (at most an hour) with which a super_admin acts as an owner inside one organisation:
   * no platform routes, no X-Org-Id switching, its own session (logout ends it, no refresh token). Audit entries
   * name the super_admin "acting as user" in that organisation's chain.
   */
  async impersonate(
    admin: AuthContext,
    orgId: string,
    ttlSeconds: number,
  ): Promise<{ token: string; expiresInSeconds: number; org: Organisation }> {
    const org = await getOrganisation(this.client, orgId);
    const lifetime = Math.min(ttlSeconds, IMPERSONATION_MAX_SECONDS);
    const expiresAt = new Date(this.now().getTime() + lifetime * 1000);
    const session = await this.store.createSession(admin.userId, randomUUID(), expiresAt);
    const subject: TokenSubject = {
      userId: admin.userId,
      email: admin.email,
      role: "owner",
      orgId: org.orgId,
      namespace: org.namespace,
      sessionId: session.sessionId,
      impersonating: true,
    };
    const access = await this.tokens().sign(subject, "access", undefined, lifetime);
    return { token: access.token, expiresInSeconds: access.expiresInSeconds, org };
  }

  /** Removes an organisation's users (sessions revoked first), invites and namespace. */
  async deleteOrganisation(orgId: string): Promise<{ users: number }> {
    const org = await getOrganisation(this.client, orgId);
    const users = await this.store.listOrgUsers(org.orgId);
    for (const user of users) {
      await this.store.revokeUserSessions(user.userId, "organisation deleted");
      await this.store.deleteUser(user.email);
    }
    await this.store.deleteOrgInvites(org.orgId);
    await deleteOrganisation(this.client, org.orgId);
    return { users: users.length };
  }

  /** Why a session's tokens are refused: its recorded end when known (a reused refresh token is no logout). */
  private endedSession(sessionId: string): string {
    const reason = this.store.sessionEndReason(sessionId);
    return reason ? `session has ended: ${reason}; sign in again` : "session has ended; sign in again";
  }

  /** An impersonation token's caller, while its organisation lasts. */
  private async impersonation(claims: VerifiedToken): Promise<AuthContext> {
    const context = impersonationContext(claims);
    // The organisation's own users lose their sessions when it is deleted; this token belongs to the super_admin.
    if (!(await organisationLive(this.client, claims.orgId)))
      throw new UnauthorizedError("the organisation this impersonation token was issued for has been deleted");
    return context;
  }

  /** Resolves the Bearer access token of a request; a super_admin may pick an organisation with X-Org-Id. */
  async authenticateUser(req: express.Request): Promise<AuthContext> {
    const claims = await this.tokens().verify(bearer(req), "access");
    if (this.store.isSessionRevoked(claims.sessionId)) throw new UnauthorizedError(this.endedSession(claims.sessionId));
    if (claims.impersonating) return this.impersonation(claims);
    const auth: AuthContext = {
      userId: claims.userId,
      email: claims.email,
      role: claims.role,
      orgId: claims.orgId,
      namespace: claims.namespace,
      sessionId: claims.sessionId,
    };
    // A super_admin moves between organisations: a remembered cluster would belong to another one.
    const active =
      claims.role === "super_admin" ? undefined : this.store.cachedUserByEmail(claims.email)?.activeAccount;
    if (active) auth.activeClusterId = active;
    const orgHeader = req.headers[ORG_HEADER];
    if (claims.role === "super_admin" && typeof orgHeader === "string" && orgHeader !== "") {
      // refused before the lookup, so that a malformed value is never echoed back in a detail
      if (!isOrgId(orgHeader)) throw new UnprocessableError("X-Org-Id must be an organisation id (a UUID)");
      const org = await getOrganisation(this.client, orgHeader);
      auth.orgId = org.orgId;
      auth.namespace = org.namespace;
      auth.viaOrgHeader = true;
    }
    return auth;
  }

  /** The organisation namespace of a known email (undefined: unknown, or a platform user without one). */
  namespaceOfEmail(email: string): string | undefined {
    return this.store.cachedUserByEmail(normaliseEmail(email))?.namespace || undefined;
  }

  /** The caller's active account from the watched user record (undefined: none chosen yet). */
  activeAccountOf(auth: AuthContext): string | undefined {
    return this.store.cachedUserByEmail(auth.email)?.activeAccount || undefined;
  }

  async setActiveAccount(auth: AuthContext, accountId: string): Promise<void> {
    const updated = await this.store.updateUser(auth.email, (u) => ({ ...u, activeAccount: accountId }));
    if (!updated) throw new UnauthorizedError("user no longer exists");
  }

  /**
   * Creates an invite and mails its code `<invite id>.<secret>` (stored only as a hash) to the invited address, so
   * accepting proves the mailbox. Answers alike whether or not the email has an account anywhere: such an address
   * gets a notice instead of a code, so inviting cannot probe other organisations' members.
   */
  async invite(auth: AuthContext, email: string, role: Role): Promise<{ inviteId: string; expiresInSeconds: number }> {
    const mailer = this.requireMailer();
    const { secret, hash } = newSecret();
    const invite = await this.store.createInvite({
      email: normaliseEmail(email),
      role,
      orgId: auth.orgId,
      namespace: auth.namespace,
      invitedBy: auth.email,
      expiresAt: new Date(this.now().getTime() + INVITE_TTL_SECONDS * 1000).toISOString(),
      tokenHash: hash,
    });
    const exists = (await this.store.findUserByEmail(invite.email)) !== undefined;
    const org = await getOrganisation(this.client, auth.orgId);
    await mailer.send(
      exists
        ? accountExistsMail(invite.email, this.config.publicUrl)
        : inviteMail({
            to: invite.email,
            code: `${invite.inviteId}.${secret}`,
            org: org.name,
            role,
            publicUrl: this.config.publicUrl,
          }),
    );
    return { inviteId: invite.inviteId, expiresInSeconds: INVITE_TTL_SECONDS };
  }

  /**
   * Turns an invite into a user of the inviting organisation with the invited role. Needs the invite token (the id
   * alone, which team lists and audit entries show, is not enough); the token works once and expires.
   */
  async acceptInvite(inviteToken: string, password: string): Promise<{ user: UserRecord; tokens: TokenPair }> {
    const invite = await this.claimInvite(inviteToken);
    // Only the invited mailbox received the token, so this answer tells no one else that the account exists.
    if (await this.store.findUserByEmail(invite.email))
      throw new ConflictError("an account with this email already exists");
    const user: UserRecord = {
      userId: randomUUID(),
      email: invite.email,
      passwordHash: await hashPassword(password),
      role: invite.role,
      orgId: invite.orgId,
      namespace: invite.namespace,
      createdAt: this.now().toISOString(),
      lastLogin: this.now().toISOString(),
      status: "active",
    };
    await this.store.createUser(user);
    return { user, tokens: await this.openSession(user) };
  }

  /** Checks the token against the stored hash, then deletes the invite: only the caller that deletes it may use it. */
  private async claimInvite(inviteToken: string): Promise<InviteRecord> {
    const [inviteId = "", secret = ""] = inviteToken.split(".", 2);
    const invite = await this.store.readInvite(inviteId);
    if (!secretMatches(invite, secret, this.now()) || !(await this.store.deleteInvite(inviteId)))
      throw new NotFoundError("invite not found or expired");
    return invite!;
  }

  /**
   * Ensures the platform super_admin exists. With `resetPassword` (local mode prints fresh
   * credentials each start) an existing account gets the given password.
   */
  async ensureSuperAdmin(
    email: string,
    password: string,
    resetPassword: boolean,
  ): Promise<"created" | "updated" | "unchanged"> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const found = await this.store.findUserByEmail(email);
      if (found) {
        if (!resetPassword && found.user.role === "super_admin") return "unchanged";
        const passwordHash = await hashPassword(password);
        await this.store.updateUser(email, (u) => ({ ...u, role: "super_admin", passwordHash }));
        return "updated";
      }
      const now = this.now().toISOString();
      try {
        await this.store.createUser({
          userId: randomUUID(),
          email: normaliseEmail(email),
          passwordHash: await hashPassword(password),
          role: "super_admin",
          orgId: "",
          namespace: "",
          createdAt: now,
          lastLogin: "",
          status: "active",
        });
        return "created";
      } catch (err) {
        // Another replica bootstrapped the same account a moment ago: take the "exists" path.
        if (!(err instanceof ConflictError)) throw err;
      }
    }
    return "unchanged";
  }
}

/** Credentials for local mode's bootstrap super_admin: printed once by the launcher. */
export function generateAdminCredentials(): { email: string; password: string } {
  return { email: "admin@spot-optimizer.local", password: randomBytes(18).toString("base64url") };
}
