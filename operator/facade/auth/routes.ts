// Routes under /api/auth: signup, token/login, refresh, logout, change-password, me, accept-invite.
import { z } from "zod";
import type { FacadeConfig } from "../config.js";
import { defineRoute, type AuthContext, type RouteDef } from "../http.js";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "./password.js";
import { ONE_TIME_CODE, type AuthService, type TokenPair } from "./service.js";
import { normaliseEmail, type UserRecord } from "./store.js";
import { plainText } from "../text.js";
import { activeAccountView, type ActiveAccountClusters } from "../settings/active-account.js";

const Email = z.email().max(254);
const Password = z.string().min(PASSWORD_MIN_LENGTH).max(PASSWORD_MAX_LENGTH);
/** Login must accept any stored password, including ones set before a policy change. */
const AnyPassword = z.string().min(1).max(PASSWORD_MAX_LENGTH);
const Jwt = z.string().min(1).max(4096);

/** "client" for organisation users, as the dashboard routes on it; the org role is in org_role. */
export const ApiRole = z.enum(["client", "super_admin"]);
export const OrgRole = z.enum(["owner", "admin", "viewer"]).nullable();

export function apiRole(role: UserRecord["role"]): z.infer<typeof ApiRole> {
  return role === "super_admin" ? "super_admin" : "client";
}

function orgRole(role: UserRecord["role"]): z.infer<typeof OrgRole> {
  return role === "super_admin" ? null : role;
}

const TokenResponse = z.object({
  access_token: z.string(),
  token_type: z.literal("Bearer"),
  expires_in: z.number().int(),
  refresh_token: z.string(),
  refresh_expires_in: z.number().int(),
  role: ApiRole,
  org_role: OrgRole,
  user: z.object({ id: z.string(), email: z.string(), role: ApiRole, org_id: z.string().nullable() }),
});

function tokenResponse(user: UserRecord, tokens: TokenPair): z.infer<typeof TokenResponse> {
  return {
    access_token: tokens.accessToken,
    token_type: "Bearer",
    expires_in: tokens.expiresInSeconds,
    refresh_token: tokens.refreshToken,
    refresh_expires_in: tokens.refreshExpiresInSeconds,
    role: apiRole(user.role),
    org_role: orgRole(user.role),
    user: { id: user.userId, email: user.email, role: apiRole(user.role), org_id: user.orgId || null },
  };
}

const SuccessMessage = z.object({ success: z.literal(true), message: z.string() });

function requireAuth(auth: AuthContext | undefined): AuthContext {
  // "user" routes always carry auth; this only narrows the type.
  if (!auth) throw new Error("route declared auth: user but ran without an AuthContext");
  return auth;
}

/** Where the dashboard sends a signed-in user: a super_admin outside any organisation to /admin, others to /dashboard. */
export function redirectPath(auth: AuthContext): string {
  return auth.role === "super_admin" && !auth.namespace ? "/admin" : "/dashboard";
}

/** What every auth route is built from: the service and the configured rate limits. */
interface AuthRouteContext {
  service: AuthService;
  limits: FacadeConfig["rateLimits"];
  tokenLimit: { name: string; windowMs: number; limit: number };
}

/** POST /api/auth/token and its alias /api/auth/login: email + password for a token pair. */
function loginRoute(ctx: AuthRouteContext, path: string, summary: string): RouteDef {
  return defineRoute({
    method: "post",
    path,
    summary,
    tags: ["auth"],
    auth: "public",
    errors: { "401": "Incorrect email or password" },
    noStore: true,
    rateLimit: ctx.tokenLimit,
    // `username` is the OAuth2 password-form name of the same field (the dashboard's /auth/login form).
    body: z
      .object({
        email: Email.optional(),
        username: Email.optional(),
        password: AnyPassword,
        // OAuth2 password-grant clients send these too: "password" is the only grant this route gives, and it uses no
        // scopes or client credentials (tokens are the user's)
        grant_type: z.literal("password").optional(),
        scope: z.string().max(1000).optional(),
        client_id: z.string().max(200).optional(),
        client_secret: z.string().max(200).optional(),
      })
      .strict()
      .refine((b) => (b.email ?? b.username) !== undefined, { message: "email is required", path: ["email"] }),
    response: TokenResponse,
    handler: async ({ body, audit }) => {
      const email = (body.email ?? body.username)!;
      // Noted before the attempt so that a failed login is recorded too: in the user's organisation, or (a
      // super_admin, an unknown email) in the platform chain; as the address is matched (case aside), so that failures
      // of one account aggregate into one entry however its case is written.
      const actor = normaliseEmail(email);
      audit({ namespace: ctx.service.namespaceOfEmail(email), actor, event: "user.login", resource: "user" });
      const { user, tokens } = await ctx.service.login(email, body.password);
      audit({
        namespace: user.namespace || undefined,
        actor: user.email,
        event: "user.login",
        resource: `user/${user.userId}`,
        after: { session: tokens.sessionId },
      });
      return tokenResponse(user, tokens);
    },
  }) as RouteDef;
}

/** POST /api/auth/signup: asks for an organisation; the code goes out by mail. */
function signupRoute(ctx: AuthRouteContext): RouteDef {
  return defineRoute({
    method: "post",
    path: "/api/auth/signup",
    summary: "Ask for an organisation and its owner: a verification code is mailed; POST /api/auth/verify-email",
    description:
      "Answers 202 with the same body for every address, so it never tells whether an address has an account: a " +
      "new address receives a one-time code (24 h), an address with an account receives a notice instead.",
    tags: ["auth"],
    auth: "public",
    status: 202,
    noStore: true,
    rateLimit: { name: "signup", windowMs: 3_600_000, limit: ctx.limits.signupPerHour },
    body: z
      .object({ org_name: plainText(z.string().trim().min(1).max(100)), email: Email, password: Password })
      .strict(),
    response: z.object({
      success: z.literal(true),
      verification_required: z.literal(true),
      message: z.string(),
      expires_in: z.number().int(),
    }),
    handler: async ({ body, audit }) => {
      // Nothing exists yet: the request is recorded in the platform chain, alike for every address.
      const actor = normaliseEmail(body.email);
      audit({ actor, event: "signup.request", resource: "signup", after: { org_name: body.org_name } });
      const { expiresInSeconds } = await ctx.service.requestSignup({
        orgName: body.org_name,
        email: body.email,
        password: body.password,
      });
      return {
        success: true as const,
        verification_required: true as const,
        message:
          "Check your mailbox: its code, with this password, completes the signup with POST /api/auth/verify-email",
        expires_in: expiresInSeconds,
      };
    },
  }) as RouteDef;
}

/** POST /api/auth/verify-email: completes a signup. */
function verifyEmailRoute(ctx: AuthRouteContext): RouteDef {
  return defineRoute({
    method: "post",
    path: "/api/auth/verify-email",
    summary:
      "Complete a signup with the mailed code and the password it was asked with: creates the organisation and its " +
      "owner; returns tokens",
    tags: ["auth"],
    errors: { "401": "Not the password the signup was asked with", "404": "No such code, or used or expired" },
    auth: "public",
    status: 201,
    noStore: true,
    rateLimit: ctx.tokenLimit,
    body: z
      .object({
        token: z.string().regex(ONE_TIME_CODE, "must be the code the signup mail carried"),
        password: z.string().min(1).max(1024).describe("The password the signup was asked with."),
      })
      .strict(),
    response: TokenResponse.extend({
      user_id: z.string(),
      token: z.string(),
      org_id: z.string(),
      namespace: z.string(),
    }),
    handler: async ({ body, audit }) => {
      // A wrong or used code is recorded (platform chain) as a failure; success lands in the new organisation's.
      audit({ actor: "anonymous", event: "organisation.signup", resource: "signup" });
      const { user, org, tokens } = await ctx.service.verifySignup(body.token, body.password);
      audit({
        namespace: org.namespace,
        actor: user.email,
        event: "organisation.signup",
        resource: `organisation/${org.orgId}`,
        after: { org_name: org.name, owner: user.email },
      });
      return {
        ...tokenResponse(user, tokens),
        user_id: user.userId,
        token: tokens.accessToken,
        org_id: org.orgId,
        namespace: org.namespace,
      };
    },
  }) as RouteDef;
}

/** POST /api/auth/refresh: rotates a refresh token. */
function refreshRoute(ctx: AuthRouteContext): RouteDef {
  return defineRoute({
    method: "post",
    path: "/api/auth/refresh",
    summary: "Rotate a refresh token: new pair, old token revoked; reuse revokes the session",
    tags: ["auth"],
    auth: "public",
    errors: { "401": "Refresh token invalid, expired, revoked or reused (reuse ends the session)" },
    noStore: true,
    rateLimit: { name: "refresh", windowMs: 60_000, limit: ctx.limits.tokenPerMinute * 3 },
    body: z.object({ refresh_token: Jwt }).strict(),
    response: TokenResponse,
    handler: async ({ body, audit }) => {
      const { user, tokens } = await ctx.service.refresh(body.refresh_token);
      audit({
        namespace: user.namespace,
        actor: user.email,
        event: "session.refresh",
        resource: `user/${user.userId}`,
        after: { session: tokens.sessionId },
      });
      return tokenResponse(user, tokens);
    },
  }) as RouteDef;
}

/** POST /api/auth/logout: revokes the caller's session. */
function logoutRoute(ctx: AuthRouteContext): RouteDef {
  return defineRoute({
    method: "post",
    path: "/api/auth/logout",
    summary: "Revoke the caller's session (access and refresh tokens)",
    tags: ["auth"],
    auth: "user",
    roles: ["owner", "admin", "viewer"],
    tenant: false,
    rateLimit: { name: "logout", windowMs: 60_000, limit: ctx.limits.logoutPerMinute },
    body: z.object({ refresh_token: Jwt.optional() }).strict(),
    response: SuccessMessage,
    handler: async ({ auth, body, audit }) => {
      const caller = requireAuth(auth);
      await ctx.service.logout(caller, body.refresh_token);
      audit({
        event: "user.logout",
        resource: `user/${caller.userId}`,
        after: { session: caller.sessionId ?? null },
      });
      return { success: true as const, message: "Logged out successfully" };
    },
  }) as RouteDef;
}

/** POST /api/auth/change-password: new password, other sessions signed out. */
function changePasswordRoute(ctx: AuthRouteContext): RouteDef {
  return defineRoute({
    method: "post",
    path: "/api/auth/change-password",
    summary: "Change the caller's password; signs out every other session",
    tags: ["auth"],
    auth: "user",
    roles: ["owner", "admin", "viewer"],
    tenant: false,
    rateLimit: ctx.tokenLimit,
    body: z.object({ current_password: AnyPassword, new_password: Password }).strict(),
    response: SuccessMessage.extend({ sessions_revoked: z.number().int() }),
    handler: async ({ auth, body, audit }) => {
      const caller = requireAuth(auth);
      const revoked = await ctx.service.changePassword(caller, body.current_password, body.new_password);
      audit({
        event: "user.change_password",
        resource: `user/${caller.userId}`,
        after: { sessions_revoked: revoked },
      });
      return { success: true as const, message: "Password changed", sessions_revoked: revoked };
    },
  }) as RouteDef;
}

/** GET /api/auth/me: the caller's identity. */
function meRoute(clusters: ActiveAccountClusters): RouteDef {
  return defineRoute({
    method: "get",
    path: "/api/auth/me",
    summary: "The caller's identity and where the dashboard should route them",
    tags: ["auth"],
    auth: "user",
    roles: ["owner", "admin", "viewer"],
    tenant: false,
    response: z.object({
      user_id: z.string(),
      email: z.string(),
      role: ApiRole,
      org_role: OrgRole,
      org_id: z.string().nullable(),
      namespace: z.string().nullable(),
      redirect_path: z.string(),
      account_status: z.literal("active"),
      active_account: z
        .string()
        .nullable()
        .describe("The active account (cluster id); null when none is chosen or it is gone"),
      active_account_reason: z
        .string()
        .nullable()
        .describe("Why active_account is null although one was chosen: the chosen cluster no longer exists"),
    }),
    handler: async ({ auth }) => {
      const caller = requireAuth(auth);
      return {
        user_id: caller.userId,
        email: caller.email,
        role: apiRole(caller.role),
        org_role: orgRole(caller.role),
        org_id: caller.orgId || null,
        namespace: caller.namespace || null,
        redirect_path: redirectPath(caller),
        account_status: "active" as const,
        ...activeAccountView(caller, clusters),
      };
    },
  }) as RouteDef;
}

/** POST /api/auth/accept-invite: joins the inviting organisation. */
function acceptInviteRoute(ctx: AuthRouteContext): RouteDef {
  return defineRoute({
    method: "post",
    path: "/api/auth/accept-invite",
    summary:
      "Join the inviting organisation with the invited role (invite_token: the code POST /settings/invite mailed)",
    tags: ["auth"],
    auth: "public",
    errors: { "404": "Invite not found or expired" },
    status: 201,
    noStore: true,
    rateLimit: ctx.tokenLimit,
    body: z
      .object({
        invite_token: z.string().regex(ONE_TIME_CODE, "must be the code the invite mail carried"),
        password: Password,
      })
      .strict(),
    response: TokenResponse,
    handler: async ({ body, audit }) => {
      audit({ actor: "anonymous", event: "user.accept_invite", resource: "invite" });
      const { user, tokens } = await ctx.service.acceptInvite(body.invite_token, body.password);
      audit({
        namespace: user.namespace,
        actor: user.email,
        event: "user.accept_invite",
        resource: `user/${user.userId}`,
        after: { role: user.role },
      });
      return tokenResponse(user, tokens);
    },
  }) as RouteDef;
}

/** `clusters`: the organisations' clusters, so /me reports an active account only while its cluster exists. */
export function createAuthRoutes(
  service: AuthService,
  config: FacadeConfig,
  clusters: ActiveAccountClusters,
): RouteDef[] {
  const limits = config.rateLimits;
  const ctx: AuthRouteContext = {
    service,
    limits,
    tokenLimit: { name: "token", windowMs: 60_000, limit: limits.tokenPerMinute },
  };

  return [
    signupRoute(ctx),
    verifyEmailRoute(ctx),
    loginRoute(ctx, "/api/auth/token", "Exchange email + password for an access and a refresh token"),
    loginRoute(ctx, "/api/auth/login", "Alias of /api/auth/token"),
    refreshRoute(ctx),
    logoutRoute(ctx),
    changePasswordRoute(ctx),
    meRoute(clusters),
    acceptInviteRoute(ctx),
  ];
}
