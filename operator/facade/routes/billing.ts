// Billing: GET /billing/status reports the organisation's plan against the nodes its clusters report; the routes that
// need a payment provider (card, invoices, subscription changes) answer 501, since none is built.
import { z } from "zod";
import { getOrganisation } from "../auth/orgs.js";
import { NotImplementedError } from "../errors.js";
import { defineRoute, type RouteDef } from "../http.js";
import { figuresInScope } from "../services/fleet-view.js";
import { nodeKpi, nodesLeftOut } from "../services/node-totals.js";
import type { ResourceScope } from "../services/resource-scope.js";

const NO_PROVIDER =
  "billing needs a payment provider and none is built into this facade: plans are set by the platform operator " +
  "(namespace annotation spotoptimizer.io/plan) and their node limits by SPOTOPT_PLAN_NODE_LIMITS";

export interface BillingStatus {
  plan: string;
  node_limit: number | null;
  node_limit_reason: string | null;
  nodes_used: number | null;
  nodes_used_reason: string | null;
  usage_percentage: number | null;
  usage_percentage_reason: string | null;
}

/**
 * What a known share rests on: nodes counted over the clusters that reported, so with some left out it is at least this;
 * a disconnected agent's last count, also named in the reason, is no lower bound.
 */
function shareReason(used: { reason: string | null; leftOut?: boolean }): string | null {
  if (used.reason === null) return null;
  return used.leftOut === false ? used.reason : `at least this: ${used.reason}`;
}

/**
 * The plan's node limit against the nodes the clusters report: the percentage only where both are known (a limit of 0
 * with nodes in use is over any percentage, so it is null and says so).
 */
export function billingStatus(
  plan: string,
  limits: Record<string, number>,
  used: { nodes: number | null; reason: string | null; leftOut?: boolean },
): BillingStatus {
  const limit = Object.hasOwn(limits, plan) ? limits[plan]! : null;
  const limitReason = limit === null ? `no node limit is configured for plan ${plan}` : null;
  let percentage: number | null = null;
  let percentageReason: string | null = null;
  if (limit === null) percentageReason = limitReason;
  else if (used.nodes === null) percentageReason = `nodes used unknown: ${used.reason ?? "not reported"}`;
  else if (limit === 0 && used.nodes > 0)
    percentageReason = `plan ${plan} includes no nodes and ${used.nodes} are in use`;
  else {
    percentage = limit === 0 ? 0 : Math.round((used.nodes / limit) * 1000) / 10;
    percentageReason = shareReason(used);
  }
  return {
    plan,
    node_limit: limit,
    node_limit_reason: limitReason,
    nodes_used: used.nodes,
    nodes_used_reason: used.reason,
    usage_percentage: percentage,
    usage_percentage_reason: percentageReason,
  };
}

function statusRoute(scope: ResourceScope): RouteDef {
  return defineRoute({
    method: "get",
    path: "/billing/status",
    summary:
      "The organisation's plan and its node limit (SPOTOPT_PLAN_NODE_LIMITS) against the nodes its clusters report; reported, not enforced",
    tags: ["billing"],
    auth: "user",
    response: z.object({
      plan: z
        .string()
        .describe("The organisation's plan (namespace annotation spotoptimizer.io/plan; free at signup)."),
      node_limit: z.number().int().nullable().describe("Nodes the plan includes; null when none is configured."),
      node_limit_reason: z.string().nullable(),
      nodes_used: z
        .number()
        .int()
        .nullable()
        .describe("Σ nodes of the organisation's clusters that reported them (as GET /metrics/kpi active_nodes)."),
      nodes_used_reason: z.string().nullable().describe("Why nodes_used is null, or which clusters it leaves out."),
      usage_percentage: z
        .number()
        .nullable()
        .describe("nodes_used ÷ node_limit × 100, to 0.1; null unless both known."),
      usage_percentage_reason: z.string().nullable(),
    }),
    handler: async (ctx) => {
      const rc = scope.context(ctx.auth);
      const figures = figuresInScope(rc, undefined);
      const kpi = nodeKpi(figures);
      const org = await getOrganisation(scope.parts.client, ctx.auth?.orgId ?? "");
      return billingStatus(org.plan, rc.config.planNodeLimits, {
        nodes: kpi.active_nodes,
        reason: kpi.active_nodes_reason,
        leftOut: nodesLeftOut(figures),
      });
    },
  }) as RouteDef;
}

/** A billing route the dashboard calls that needs a payment provider: its input is still checked, then it answers 501. */
function needsProvider<B>({
  method,
  path,
  summary,
  body,
  response,
}: {
  method: "get" | "post";
  path: string;
  summary: string;
  body?: z.ZodType<B>;
  response: z.ZodType;
}): RouteDef {
  return defineRoute({
    method,
    path,
    summary,
    tags: ["billing"],
    auth: "user",
    // Payment details and invoices are the organisation's owners' and admins' business, also while unbuilt.
    roles: ["owner", "admin"],
    ...(body ? { body } : {}),
    response,
    notBuilt: NO_PROVIDER,
    handler: async () => {
      throw new NotImplementedError(NO_PROVIDER);
    },
  }) as RouteDef;
}

export function createBillingRoutes(scope: ResourceScope): RouteDef[] {
  return [
    statusRoute(scope),
    needsProvider({
      method: "post",
      path: "/billing/card",
      summary: "Save a payment card: needs a payment provider, none is built (owner, admin: 501 after validation)",
      body: z.object({ stripe_token: z.string().min(1).max(512) }).strict(),
      response: z.object({ success: z.literal(true), last4: z.string() }),
    }),
    needsProvider({
      method: "get",
      path: "/billing/history",
      summary: "Invoice history: needs a payment provider, none is built (owner, admin: 501)",
      response: z.object({ invoices: z.array(z.object({ id: z.string() })) }),
    }),
    needsProvider({
      method: "post",
      path: "/billing/subscription",
      summary:
        "Change the subscription plan: needs a payment provider, none is built (owner, admin: 501 after validation)",
      body: z.object({ plan_id: z.string().min(1).max(63) }).strict(),
      response: z.object({ success: z.literal(true) }),
    }),
  ];
}
