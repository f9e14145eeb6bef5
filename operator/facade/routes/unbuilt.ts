// Routes the dashboard calls whose feature is not built: the lab, the model registry, cross-account AWS onboarding and
// EKS discovery. Each checks its caller and input like a built route, then answers 501 naming what exists instead, so
// the dashboard can tell "not built" from "not found or not yours" (404). POST /onboard/skip has nothing to record.
import { z } from "zod";
import { objectName } from "../../../src-shared/crds/index.js";
import { ForbiddenError, NotImplementedError } from "../errors.js";
import { redirectPath } from "../auth/routes.js";
import { defineRoute, type RouteDef } from "../http.js";
import { ClusterId } from "./shared.js";

const LAB =
  "the lab is not built: LabExperiment objects can be stored (kubectl apply) but no controller runs them, so no " +
  "experiment starts, no node is switched and no results exist";
const MODELS =
  "there is no model registry: the planner's strategies are built in (lowest-price, capacity-optimized, " +
  "price-capacity-optimized) and chosen per cluster with PATCH /policies/strategy";
const CONNECT =
  "connecting an AWS account by IAM role is not built: a cluster connects by installing the agent (POST " +
  "/clusters/connect answers the helm command and its token) or is the one the facade runs in";
const DISCOVER =
  "discovering EKS clusters is not built (this facade calls no EKS API): connect a cluster with POST /clusters/connect";

/** The dashboard's WebSockets that are not built, by path, with their 501 detail (streams.ts refuses them). */
const UNBUILT_STREAMS: Array<[RegExp, string]> = [
  [/^\/lab\/stream\/[^/]+$/, LAB],
  [/^\/connect\/stream$/, CONNECT],
];

/** The 501 detail of an unbuilt stream's path, or undefined for any other path. */
export function unbuiltStream(path: string): string | undefined {
  return UNBUILT_STREAMS.find(([pattern]) => pattern.test(path))?.[1];
}

/** A node name or an EC2 instance id, as a lab arm's target. */
const Target = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(i-[0-9a-f]{8,17}|[a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/, "must be a node name or an EC2 instance id (i-…)");
/** A lab arm's model: what the experiment would make the default. */
const Model = z.string().min(1).max(253);
const TestId = objectName("Experiment id (the LabExperiment's name).");
const AwsAccountId = z.string().regex(/^\d{12}$/, "must be a 12-digit AWS account id");

function unbuilt<P, B, Q>(def: {
  method: "get" | "post";
  path: string;
  summary: string;
  tags: string[];
  detail: string;
  params?: z.ZodType<P>;
  body?: z.ZodType<B>;
  query?: z.ZodType<Q>;
  response: z.ZodType;
  platform?: boolean;
}): RouteDef {
  return defineRoute({
    method: def.method,
    path: def.path,
    summary: def.summary,
    tags: def.tags,
    auth: "user",
    ...(def.platform ? { roles: ["super_admin" as const], tenant: false } : {}),
    ...(def.params ? { params: def.params } : {}),
    ...(def.body ? { body: def.body } : {}),
    ...(def.query ? { query: def.query } : {}),
    response: def.response,
    notBuilt: def.detail,
    handler: async () => {
      throw new NotImplementedError(def.detail);
    },
  }) as RouteDef;
}

function labWriteRoutes(): RouteDef[] {
  const tags = ["lab"];
  return [
    unbuilt({
      method: "post",
      path: "/lab/live-switch",
      summary: "Replace a node live with another model: not built (owner, admin: 501 after validation)",
      tags,
      detail: LAB,
      body: z.object({ instance_id: Target, target_model: Model, cluster_id: ClusterId.optional() }).strict(),
      response: z.object({ test_id: z.string(), telemetry: z.record(z.string(), z.number().nullable()) }),
    }),
    unbuilt({
      method: "post",
      path: "/lab/parallel",
      summary: "Start an A/B test of two models on two nodes: not built (owner, admin: 501 after validation)",
      tags,
      detail: LAB,
      body: z
        .object({
          instance_a: Target,
          model_a: Model,
          instance_b: Target,
          model_b: Model,
          cluster_id: ClusterId.optional(),
        })
        .strict(),
      response: z.object({ test_id: z.string(), status: z.string() }),
    }),
  ];
}

function labReadRoutes(): RouteDef[] {
  const tags = ["lab"];
  const armResults = z.object({
    savings: z.number().nullable(),
    interruptions: z.number().nullable(),
    avg_boot_time: z.number().nullable(),
  });
  return [
    unbuilt({
      method: "get",
      path: "/lab/parallel-results",
      summary: "An A/B test's results per model: not built (501 after validation)",
      tags,
      detail: LAB,
      query: z.object({ test_id: TestId }).strict(),
      response: z.object({ model_a: armResults, model_b: armResults }),
    }),
    unbuilt({
      method: "post",
      path: "/lab/graduate",
      summary: "Make an experiment's winning model the default: not built (owner, admin: 501 after validation)",
      tags,
      detail: LAB,
      body: z.object({ model_id: Model }).strict(),
      response: z.object({ success: z.boolean(), broadcast_sent: z.boolean(), clients_affected: z.number() }),
    }),
    unbuilt({
      method: "get",
      path: "/lab/stream/:id",
      summary: "WebSocket of an A/B test's live metrics: not built (the upgrade is answered 501)",
      tags,
      detail: LAB,
      params: z.object({ id: TestId }).strict(),
      response: z.object({ test_id: z.string() }),
    }),
    unbuilt({
      method: "get",
      path: "/admin/models",
      summary: "The model registry: none exists (super_admin: 501)",
      tags: ["admin"],
      detail: MODELS,
      platform: true,
      response: z.object({ models: z.array(z.object({ id: z.string() })) }),
    }),
  ];
}

function onboardingRoutes(): RouteDef[] {
  const tags = ["onboarding"];
  return [
    unbuilt({
      method: "post",
      path: "/connect/verify",
      summary: "Verify an AWS account's IAM role: not built (owner, admin: 501 after validation)",
      tags,
      detail: CONNECT,
      body: z
        .object({
          account_id: AwsAccountId,
          role_arn: z.string().regex(/^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, "must be an IAM role ARN"),
          external_id: z.string().min(2).max(1224),
        })
        .strict(),
      response: z.object({ status: z.string(), message: z.string() }),
    }),
    unbuilt({
      method: "post",
      path: "/connect/link",
      summary: "Link another AWS account (CloudFormation role): not built (owner, admin: 501 after validation)",
      tags,
      detail: CONNECT,
      body: z.object({ user_id: z.string().max(253).optional(), account_alias: z.string().min(1).max(200) }).strict(),
      response: z.object({ cloudformation_url: z.string(), external_id: z.string(), role_name: z.string() }),
    }),
    unbuilt({
      method: "get",
      path: "/connect/stream",
      summary: "WebSocket of an AWS account's discovery scan: not built (the upgrade is answered 501)",
      tags,
      detail: CONNECT,
      query: z.object({ account_id: z.string().max(253).optional() }).strict(),
      response: z.object({ progress: z.number() }),
    }),
    unbuilt({
      method: "get",
      path: "/clusters/discover",
      summary:
        "EKS clusters of connected AWS accounts not yet managed: not built (501 after validation; a cluster named " +
        "discover is read with GET /clusters)",
      tags: ["clusters"],
      detail: DISCOVER,
      query: z.object({ account_id: z.string().max(253).optional() }).strict(),
      response: z.object({ clusters: z.array(z.object({ name: z.string() })) }),
    }),
    skipOnboardingRoute(),
  ];
}

/** POST /onboard/skip: nothing to record, since GET /api/auth/me never routes a user to an onboarding wizard. */
function skipOnboardingRoute(): RouteDef {
  return defineRoute({
    method: "post",
    path: "/onboard/skip",
    summary:
      "Skip the onboarding wizard: records nothing, since GET /api/auth/me never routes to one; answers where it routes",
    tags: ["onboarding"],
    auth: "user",
    errors: { "409": null },
    roles: ["owner", "admin", "viewer"],
    tenant: false,
    audit: false,
    body: z.object({ user_id: z.string().max(253).optional() }).strict(),
    response: z.object({ success: z.literal(true), redirect: z.string() }),
    handler: async ({ auth, body }) => {
      if (body.user_id !== undefined && body.user_id !== auth?.userId)
        throw new ForbiddenError("user_id: a user skips only their own onboarding");
      return { success: true as const, redirect: redirectPath(auth!) };
    },
  }) as RouteDef;
}

/** Mounted before the cluster routes: GET /clusters/discover must not be read as the cluster named discover. */
export function createUnbuiltRoutes(): RouteDef[] {
  return [...labWriteRoutes(), ...labReadRoutes(), ...onboardingRoutes()];
}
