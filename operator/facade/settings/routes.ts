// Settings routes: connected accounts (the organisation's ManagedClusters), active context, team members and invites.
import { z } from "zod";
import { activeAccountView } from "./active-account.js";
import type { ManagedCluster } from "../../../src-shared/crds/index.js";
import type { KubeClient } from "../../../src-shared/kube/client.js";
import type { AuthService } from "../auth/service.js";
import type { FacadeCache } from "../cache.js";
import { agentConnection } from "../services/fleet-view.js";
import type { FacadeRateLimits } from "../config.js";
import { ConflictError, ForbiddenError, NotFoundError } from "../errors.js";
import {
  defineRoute,
  IMPERSONATION_HAS_NO_CONTEXT,
  IMPERSONATION_MANAGES_NO_ACCESS,
  type AuthContext,
  type RouteDef,
} from "../http.js";

export interface SettingsRouteDeps {
  auth: AuthService;
  /** Invites per inviting user and per organisation per hour. */
  inviteLimits: Pick<FacadeRateLimits, "invitePerHourPerUser" | "invitePerHourPerOrganisation">;
  client: KubeClient;
  cache: Pick<FacadeCache, "clusters" | "cluster" | "waitFor">;
}

const AccountId = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "must be a cluster id (a Kubernetes object name)");

const Account = z.object({
  id: z.string(),
  alias: z.string(),
  aws_account_id: z.string().nullable(),
  region: z.string().nullable(),
  status: z.enum(["active", "pending", "disconnected"]),
  connection_method: z.enum(["in-cluster", "agent"]),
  removing: z
    .boolean()
    .describe("Being disconnected: the cluster stays until what its templates applied there has been removed."),
});

/** The 12-digit account of an IAM role ARN (`arn:aws:iam::123456789012:role/x`), when the node role is given as one. */
function awsAccountId(cluster: ManagedCluster): string | null {
  const role = cluster.spec.aws?.nodeRole ?? "";
  return /^arn:aws[\w-]*:iam::(\d{12}):/.exec(role)?.[1] ?? null;
}

function accountStatus(cluster: ManagedCluster): z.infer<typeof Account>["status"] {
  const connected = agentConnection(cluster);
  if (connected?.status === "True") return "active";
  return connected?.status === "False" ? "disconnected" : "pending";
}

function accountOf(cluster: ManagedCluster): z.infer<typeof Account> {
  return {
    id: cluster.metadata.name ?? "",
    alias: cluster.spec.displayName ?? cluster.metadata.name ?? "",
    aws_account_id: awsAccountId(cluster),
    region: cluster.spec.region ?? null,
    status: accountStatus(cluster),
    connection_method: (cluster.spec.mode ?? "local") === "local" ? "in-cluster" : "agent",
    removing: cluster.metadata.deletionTimestamp !== undefined,
  };
}

function org(auth: AuthContext | undefined): AuthContext {
  if (!auth?.namespace) throw new NotFoundError("no organisation");
  return auth;
}

/** GET /settings/accounts: the organisation's clusters as accounts. */
function listAccountsRoute(deps: SettingsRouteDeps): RouteDef {
  return defineRoute({
    method: "get",
    path: "/settings/accounts",
    summary: "Connected accounts: one per ManagedCluster of the organisation",
    tags: ["settings"],
    auth: "user",
    response: z.object({
      accounts: z.array(Account),
      active_account: z.string().nullable().describe("The active account's id; null when none is chosen or it is gone"),
      active_account_reason: z
        .string()
        .nullable()
        .describe("Why active_account is null although one was chosen: the chosen cluster no longer exists"),
    }),
    handler: async ({ auth }) => {
      const caller = org(auth);
      const accounts = deps.cache.clusters(caller.namespace).map(accountOf);
      // The same answer as GET /api/auth/me gives.
      return { accounts, ...activeAccountView(caller, deps.cache) };
    },
  }) as RouteDef;
}

/** DELETE /settings/accounts: disconnects an account (deletes its ManagedCluster). */
function removeAccountRoute(deps: SettingsRouteDeps): RouteDef {
  return defineRoute({
    method: "delete",
    path: "/settings/accounts",
    summary:
      "Disconnect an account: deletes its ManagedCluster (its agent token works until the cluster is gone); a remote cluster stays until its agent has removed what its templates applied there (pending)",
    tags: ["settings"],
    auth: "user",
    roles: ["owner"],
    body: z.object({ account_id: AccountId }).strict(),
    response: z.object({
      success: z.literal(true),
      account_id: z.string(),
      pending: z.boolean().describe("The cluster is still there, held until its NodePools and EC2NodeClasses are gone"),
      message: z.string(),
    }),
    handler: async ({ auth, body, audit }) => {
      const caller = org(auth);
      const cluster = deps.cache.cluster(caller.namespace, body.account_id);
      if (!cluster) throw new NotFoundError(`account ${body.account_id} not found`);
      if (cluster.metadata.deletionTimestamp)
        throw new ConflictError(
          `account ${body.account_id} is already being disconnected (see GET /settings/accounts)`,
        );
      const ref = {
        apiVersion: cluster.apiVersion,
        kind: cluster.kind,
        namespace: caller.namespace,
        name: body.account_id,
      };
      await deps.client.delete(ref);
      // One a finalizer holds is still there, marked: settle on that version rather than wait for it to go.
      const held = await deps.client.getIfExists(ref);
      await deps.cache.waitFor("ManagedCluster", {
        namespace: caller.namespace,
        name: body.account_id,
        resourceVersion: held?.metadata?.resourceVersion ?? null,
      });
      audit({
        event: "account.disconnect",
        resource: `managedcluster/${body.account_id}`,
        before: accountOf(cluster),
      });
      const by = cluster.spec.mode === "remote" ? "through its agent" : "by the operator";
      const message = held
        ? `Disconnect started: the cluster's NodePools and EC2NodeClasses are removed ${by} first`
        : "Account disconnected";
      return { success: true as const, account_id: body.account_id, pending: held !== undefined, message };
    },
  }) as RouteDef;
}

/** PATCH /settings/context: the caller's active cluster. */
function contextRoute(deps: SettingsRouteDeps): RouteDef {
  return defineRoute({
    method: "patch",
    path: "/settings/context",
    summary: "Switch the caller's active account (cluster)",
    tags: ["settings"],
    auth: "user",
    roles: ["owner", "admin", "viewer"],
    notImpersonated: IMPERSONATION_HAS_NO_CONTEXT,
    body: z.object({ account_id: AccountId }).strict(),
    response: z.object({ success: z.literal(true), active_account: z.string(), account_id: z.string() }),
    handler: async ({ auth, body, audit }) => {
      const caller = org(auth);
      const cluster = deps.cache.cluster(caller.namespace, body.account_id);
      if (!cluster) throw new NotFoundError(`account ${body.account_id} not found`);
      const previous = deps.auth.activeAccountOf(caller);
      await deps.auth.setActiveAccount(caller, body.account_id);
      audit({
        event: "context.switch",
        resource: `user/${caller.userId}`,
        before: { account_id: previous ?? null },
        after: { account_id: body.account_id },
      });
      return { success: true as const, active_account: accountOf(cluster).alias, account_id: body.account_id };
    },
  }) as RouteDef;
}

/** GET /settings/team: members and open invites. */
function teamRoute(deps: SettingsRouteDeps): RouteDef {
  return defineRoute({
    method: "get",
    path: "/settings/team",
    summary: "Members of the organisation and pending invites",
    tags: ["settings"],
    auth: "user",
    response: z.object({
      members: z.array(
        z.object({
          id: z.string(),
          email: z.string(),
          role: z.string(),
          last_login: z.string().nullable(),
          status: z.enum(["active", "invited"]),
        }),
      ),
    }),
    handler: async ({ auth }) => {
      const caller = org(auth);
      const users = deps.auth.store
        .cachedUsers((u) => u.namespace === caller.namespace && u.orgId === caller.orgId)
        .map((u) => ({
          id: u.userId,
          email: u.email,
          role: u.role,
          last_login: u.lastLogin || null,
          status: "active" as const,
        }));
      const invites = deps.auth.store
        .cachedInvites(caller.orgId)
        .map((i) => ({ id: i.inviteId, email: i.email, role: i.role, last_login: null, status: "invited" as const }));
      return { members: [...users, ...invites].sort((a, b) => a.email.localeCompare(b.email)) };
    },
  }) as RouteDef;
}

/** POST /settings/invite: invites a member. */
function inviteRoute(deps: SettingsRouteDeps): RouteDef {
  return defineRoute({
    method: "post",
    path: "/settings/invite",
    summary: "Invite a member: the invite code is mailed to the address; they join with POST /api/auth/accept-invite",
    tags: ["settings"],
    auth: "user",
    status: 201,
    noStore: true,
    // An invite lets its mailbox join for good, with any role up to owner: never from an impersonation token.
    notImpersonated: IMPERSONATION_MANAGES_NO_ACCESS,
    // Each invite names one address: limited per inviter and per organisation, not only per IP.
    rateLimit: [
      { name: "invite-user", windowMs: 3_600_000, limit: deps.inviteLimits.invitePerHourPerUser, per: "user" },
      {
        name: "invite-org",
        windowMs: 3_600_000,
        limit: deps.inviteLimits.invitePerHourPerOrganisation,
        per: "organisation",
      },
    ],
    body: z.object({ email: z.email().max(254), role: z.enum(["owner", "admin", "viewer"]) }).strict(),
    response: z.object({
      success: z.literal(true),
      invite_id: z.string().describe("Not a secret (team lists show it): the code to join is mailed to the invitee"),
      expires_in: z.number().int(),
    }),
    handler: async ({ auth, body, audit }) => {
      const caller = org(auth);
      if (body.role === "owner" && caller.role !== "owner" && caller.role !== "super_admin") {
        throw new ForbiddenError("only an owner may invite another owner");
      }
      const invite = await deps.auth.invite(caller, body.email, body.role);
      audit({
        event: "team.invite",
        resource: `invite/${invite.inviteId}`,
        after: { email: body.email, role: body.role },
      });
      return {
        success: true as const,
        invite_id: invite.inviteId,
        expires_in: invite.expiresInSeconds,
      };
    },
  }) as RouteDef;
}

export function createSettingsRoutes(deps: SettingsRouteDeps): RouteDef[] {
  return [listAccountsRoute(deps), removeAccountRoute(deps), contextRoute(deps), teamRoute(deps), inviteRoute(deps)];
}
