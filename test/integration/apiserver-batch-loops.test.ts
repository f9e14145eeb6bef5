// The local API server's StatefulSet, Job and CronJob loops, seen in what the server holds and what kubectl shows.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { eventually, kubectl, startTestCluster } from "../support/cluster.js";

type Obj = Record<string, any>;
type WatchLine = { type: string; object: Obj };
let server: LocalApiServer;
let clock = Date.now();
let nsCounter = 0;

const sts = (ns: string): string => `/apis/apps/v1/namespaces/${ns}/statefulsets`;
const jobs = (ns: string): string => `/apis/batch/v1/namespaces/${ns}/jobs`;
const cronjobs = (ns: string): string => `/apis/batch/v1/namespaces/${ns}/cronjobs`;
const pods = (ns: string): string => `/api/v1/namespaces/${ns}/pods`;
const container = { name: "c", image: "registry.example/app:1", resources: { requests: { cpu: "100m" } } };
/** A node selector no node matches: such pods stay Pending, so their Job stays active. */
const nowhere = { nodeSelector: { zone: "nowhere" } };

beforeAll(async () => {
  server = await startTestCluster({
    workloads: { podCompletionMs: 50, cronJobs: { now: () => clock, tickMs: 25 } },
    podTerminationMs: 20,
  });
  const resources = { cpu: "4", memory: "8Gi", pods: "110" };
  const node = {
    metadata: { name: "node-a", labels: { "kubernetes.io/hostname": "node-a" } },
    status: {
      capacity: resources,
      allocatable: resources,
      conditions: [{ type: "Ready", status: "True" }],
      addresses: [{ type: "InternalIP", address: "10.0.0.7" }],
    },
  };
  expect((await server.request("POST", "/api/v1/nodes", { body: node })).status).toBe(201);
});

afterAll(async () => {
  await server?.stop();
});

async function namespace(): Promise<{ ns: string; rv: string }> {
  const ns = `batch-${++nsCounter}`;
  const res = await server.request("POST", "/api/v1/namespaces", { body: { metadata: { name: ns } } });
  expect(res.status).toBe(201);
  return { ns, rv: res.json.metadata.resourceVersion as string };
}

async function get(path: string): Promise<Obj> {
  const res = await server.request("GET", path);
  expect(res.status).toBe(200);
  return res.json as Obj;
}

async function create(path: string, body: Obj): Promise<Obj> {
  const res = await server.request("POST", path, { body });
  expect(res.status).toBe(201);
  return res.json as Obj;
}

/** The pod watch history of a namespace since `rv` (the server keeps the window). */
async function podHistory(ns: string, rv: string): Promise<WatchLine[]> {
  const res = await server.request("GET", `${pods(ns)}?watch=true&resourceVersion=${rv}&timeoutSeconds=1`);
  return res.text
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as WatchLine);
}

const isReady = (p: Obj): boolean =>
  p.status?.phase === "Running" &&
  (p.status?.conditions ?? []).some((c: Obj) => c.type === "Ready" && c.status === "True");

async function livePodNames(ns: string): Promise<string[]> {
  const list = await get(pods(ns));
  return (list.items as Obj[])
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => p.metadata.name as string)
    .sort();
}

function statefulSet(name: string, replicas: number, extra: Obj = {}, podSpec: Obj = {}): Obj {
  return {
    metadata: { name },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [container], ...podSpec } },
      ...extra,
    },
  };
}

function job(name: string, spec: Obj, podSpec: Obj = {}): Obj {
  return {
    metadata: { name },
    spec: { ...spec, template: { spec: { restartPolicy: "Never", containers: [container], ...podSpec } } },
  };
}

describe("StatefulSet → Pods", () => {
  it("OrderedReady creates <name>-0, -1, -2 each after the previous is Ready; kubectl rollout status completes", async () => {
    const { ns, rv } = await namespace();
    await create(sts(ns), statefulSet("db", 3));
    await eventually(async () => (await get(`${sts(ns)}/db`)).status?.readyReplicas === 3, 10_000);
    const history = await podHistory(ns, rv);
    const added = history.filter((l) => l.type === "ADDED").map((l) => l.object.metadata.name);
    expect(added).toEqual(["db-0", "db-1", "db-2"]);
    for (const i of [1, 2]) {
      const createdAt = history.findIndex((l) => l.type === "ADDED" && l.object.metadata.name === `db-${i}`);
      const prevReadyAt = history.findIndex((l) => l.object.metadata.name === `db-${i - 1}` && isReady(l.object));
      expect(prevReadyAt).toBeGreaterThanOrEqual(0);
      expect(prevReadyAt).toBeLessThan(createdAt);
    }
    const pod = await get(`${pods(ns)}/db-1`);
    expect(pod.spec).toMatchObject({ hostname: "db-1", subdomain: "db" });
    expect(pod.metadata.labels).toMatchObject({
      "apps.kubernetes.io/pod-index": "1",
      "statefulset.kubernetes.io/pod-name": "db-1",
    });
    expect(pod.metadata.ownerReferences[0]).toMatchObject({ kind: "StatefulSet", name: "db", controller: true });
    const status = (await get(`${sts(ns)}/db`)).status;
    expect(status).toMatchObject({
      replicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      updatedReplicas: 3,
      observedGeneration: 1,
    });
    expect(status.currentRevision).toBe(status.updateRevision);
    const rollout = await kubectl(server, ["rollout", "status", "sts/db", "-n", ns, "--timeout=20s"]);
    expect(rollout.code).toBe(0);
    expect(rollout.stdout).toContain("roll out complete");
  });

  it("kubectl scale sts down removes the highest ordinals one at a time", async () => {
    const { ns } = await namespace();
    await create(sts(ns), statefulSet("q", 3));
    await eventually(async () => (await get(`${sts(ns)}/q`)).status?.readyReplicas === 3, 10_000);
    const rv = (await get(pods(ns))).metadata.resourceVersion as string;
    expect((await kubectl(server, ["scale", "sts/q", "-n", ns, "--replicas=1"])).code).toBe(0);
    await eventually(async () => (await livePodNames(ns)).join() === "q-0" && (await get(pods(ns))).items.length === 1);
    const history = await podHistory(ns, rv);
    const gone = (name: string): number =>
      history.findIndex((l) => l.type === "DELETED" && l.object.metadata.name === name);
    const terminating = (name: string): number =>
      history.findIndex((l) => l.object.metadata.name === name && l.object.metadata.deletionTimestamp);
    expect(gone("q-2")).toBeGreaterThanOrEqual(0);
    expect(gone("q-2")).toBeLessThan(terminating("q-1"));
    expect((await get(`${sts(ns)}/q`)).status).toMatchObject({ replicas: 1, readyReplicas: 1 });
  });

  it.each([
    { policy: "OrderedReady", expected: ["w-0"] },
    { policy: "Parallel", expected: ["w-0", "w-1", "w-2"] },
  ])("$policy with pods that cannot start: $expected created", async ({ policy, expected }) => {
    const { ns } = await namespace();
    await create(sts(ns), statefulSet("w", 3, { podManagementPolicy: policy }, nowhere));
    await eventually(async () => (await livePodNames(ns)).length === expected.length);
    await server.settled();
    expect(await livePodNames(ns)).toEqual(expected);
  });

  it("a new template rolls the pods to the new revision; deleting the StatefulSet removes its pods", async () => {
    const { ns } = await namespace();
    await create(sts(ns), statefulSet("r", 2));
    const first = await eventually(async () => {
      const s = await get(`${sts(ns)}/r`);
      return s.status?.readyReplicas === 2 ? s : undefined;
    }, 10_000);
    const patch = { spec: { template: { spec: { containers: [{ ...container, image: "registry.example/app:2" }] } } } };
    const res = await server.request("PATCH", `${sts(ns)}/r`, {
      body: patch,
      headers: { "Content-Type": "application/strategic-merge-patch+json" },
    });
    expect(res.status).toBe(200);
    const rolled = await eventually(async () => {
      const s = await get(`${sts(ns)}/r`);
      const done = s.status.updatedReplicas === 2 && s.status.readyReplicas === 2;
      return done && s.status.currentRevision === s.status.updateRevision ? s : undefined;
    }, 10_000);
    expect(rolled.status.updateRevision).not.toBe(first.status.updateRevision);
    for (const name of ["r-0", "r-1"]) {
      const p = await get(`${pods(ns)}/${name}`);
      expect(p.spec.containers[0].image).toBe("registry.example/app:2");
      expect(p.metadata.labels["controller-revision-hash"]).toBe(rolled.status.updateRevision);
    }
    expect((await kubectl(server, ["rollout", "status", "sts/r", "-n", ns, "--timeout=20s"])).code).toBe(0);
    expect((await server.request("DELETE", `${sts(ns)}/r`)).status).toBe(200);
    await eventually(async () => (await get(pods(ns))).items.length === 0, 10_000);
  });
});

describe("Job → Pods", () => {
  it("runs completions with at most parallelism pods at once, then Complete (kubectl wait)", async () => {
    const { ns, rv } = await namespace();
    await create(jobs(ns), job("batch", { completions: 5, parallelism: 2 }));
    const wait = await kubectl(server, ["wait", "--for=condition=complete", "job/batch", "-n", ns, "--timeout=30s"]);
    expect(wait.code).toBe(0);
    const done = await get(`${jobs(ns)}/batch`);
    expect(done.status).toMatchObject({ succeeded: 5, ready: 0 });
    expect(done.status.active).toBeUndefined();
    expect(done.status.completionTime).toBeTruthy();
    expect(done.status.conditions.map((c: Obj) => [c.type, c.status])).toEqual([
      ["SuccessCriteriaMet", "True"],
      ["Complete", "True"],
    ]);
    const active = new Map<string, boolean>();
    let most = 0;
    for (const l of await podHistory(ns, rv)) {
      const p = l.object;
      active.set(
        p.metadata.name,
        l.type !== "DELETED" && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed",
      );
      most = Math.max(most, [...active.values()].filter(Boolean).length);
    }
    expect(active.size).toBe(5);
    expect(most).toBe(2);
    const pod = (await get(pods(ns))).items[0];
    expect(pod.metadata.labels).toMatchObject({ "batch.kubernetes.io/job-name": "batch", "job-name": "batch" });
    expect(pod.metadata.ownerReferences[0]).toMatchObject({ kind: "Job", name: "batch", controller: true });
    const table = await kubectl(server, ["get", "job", "batch", "-n", ns]);
    expect(table.stdout).toMatch(/batch\s+Complete\s+5\/5/);
  });

  it("gets the generated selector on create, so selector queries (kubectl logs job/…) find its pods, not a namesake's", async () => {
    const { ns } = await namespace();
    // a pod with labels like the Job's own that no Job made
    await create(pods(ns), {
      metadata: { name: "aaa-stranger", labels: { app: "mig" } },
      spec: { containers: [container], ...nowhere },
    });
    const mig = job("mig", {});
    mig.spec.template.metadata = { labels: { app: "mig" } };
    const made = await create(jobs(ns), mig);
    const uid = made.metadata.uid as string;
    expect(made.spec.selector).toEqual({ matchLabels: { "batch.kubernetes.io/controller-uid": uid } });
    expect(made.spec.template.metadata.labels).toEqual({
      app: "mig",
      "batch.kubernetes.io/controller-uid": uid,
      "batch.kubernetes.io/job-name": "mig",
      "controller-uid": uid,
      "job-name": "mig",
    });
    await eventually(async () => (await get(`${jobs(ns)}/mig`)).status?.succeeded === 1, 10_000);
    const listed = await get(`${pods(ns)}?labelSelector=batch.kubernetes.io/controller-uid=${uid}`);
    expect(listed.items.map((p: Obj) => p.metadata.ownerReferences?.[0]?.uid)).toEqual([uid]);
    const wide = await kubectl(server, ["get", "job", "mig", "-n", ns, "-o", "wide"]);
    expect(wide.stdout).toContain(`batch.kubernetes.io/controller-uid=${uid}`);
    // without manualSelector: true, a selector of its own must select the Job's uid
    const wrongJob = job("wrong", {});
    wrongJob.spec.selector = { matchLabels: { "batch.kubernetes.io/controller-uid": "nope" } };
    const wrong = await server.request("POST", jobs(ns), { body: wrongJob });
    expect(wrong.status).toBe(422);
    expect(wrong.json.message).toContain("`selector` not auto-generated");
  });

  it("a suspended Job creates no pods until resumed", async () => {
    const { ns } = await namespace();
    await create(jobs(ns), job("later", { suspend: true }));
    await server.settled();
    expect(await livePodNames(ns)).toEqual([]);
    const res = await server.request("PATCH", `${jobs(ns)}/later`, {
      body: { spec: { suspend: false } },
      headers: { "Content-Type": "application/merge-patch+json" },
    });
    expect(res.status).toBe(200);
    await eventually(async () => (await get(`${jobs(ns)}/later`)).status?.succeeded === 1, 10_000);
  });
});

describe("CronJob → Jobs", () => {
  // Each CronJob starts with the injected clock at real time: nothing is due before the first advance().
  beforeEach(() => {
    clock = Date.now();
  });
  function cronJob(name: string, spec: Obj, podSpec: Obj = {}): Obj {
    return {
      metadata: { name },
      spec: { schedule: "*/5 * * * *", ...spec, jobTemplate: { spec: job("x", {}, podSpec).spec } },
    };
  }
  const jobNames = async (ns: string): Promise<string[]> =>
    ((await get(jobs(ns))).items as Obj[])
      .filter((j) => !j.metadata.deletionTimestamp)
      .map((j) => j.metadata.name as string)
      .sort();
  /** Moves the injected clock one second past the next 5-minute mark; returns that scheduled minute. */
  const advance = (): number => {
    clock = (Math.floor(clock / 300_000) + 1) * 300_000 + 1000;
    return Math.floor(clock / 60_000);
  };

  it("creates a Job per scheduled minute, records the schedule and success, and keeps successfulJobsHistoryLimit", async () => {
    const { ns } = await namespace();
    await create(cronjobs(ns), cronJob("tick", { successfulJobsHistoryLimit: 2 }));
    await server.settled();
    expect(await jobNames(ns)).toEqual([]);
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const minute = advance();
      runs.push(minute);
      await eventually(async () => {
        const j = await server.request("GET", `${jobs(ns)}/tick-${minute}`);
        return j.status === 200 && j.json.status?.succeeded === 1;
      }, 10_000);
    }
    await eventually(
      async () =>
        (await jobNames(ns)).join() ===
        runs
          .slice(1)
          .map((m) => `tick-${m}`)
          .join(),
    );
    const cj = await eventually(async () => {
      const c = await get(`${cronjobs(ns)}/tick`);
      return c.status?.lastSuccessfulTime && !c.status.active ? c : undefined;
    });
    expect(cj.status.lastScheduleTime).toBe(new Date(runs[2]! * 60_000).toISOString().replace(".000Z", "Z"));
    const j = await get(`${jobs(ns)}/tick-${runs[2]}`);
    expect(j.metadata.ownerReferences[0]).toMatchObject({ kind: "CronJob", name: "tick", controller: true });
    expect(j.metadata.annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"]).toBe(cj.status.lastScheduleTime);
  });

  it.each([
    { policy: "Allow", after: 2 },
    { policy: "Forbid", after: 1 },
    { policy: "Replace", after: 1 },
  ])(
    "concurrencyPolicy $policy with a Job still running: $after active after the next schedule",
    async ({ policy, after }) => {
      const { ns } = await namespace();
      await create(cronjobs(ns), cronJob("c", { concurrencyPolicy: policy }, nowhere));
      const first = advance();
      await eventually(async () => (await jobNames(ns)).join() === `c-${first}`);
      const second = advance();
      // Replace keeps one active Job before and after the schedule, so wait for the active list to name the new one.
      const activeAfter = policy === "Replace" ? [`c-${second}`] : policy === "Forbid" ? [`c-${first}`] : undefined;
      await eventually(async () => {
        const active = ((await get(`${cronjobs(ns)}/c`)).status?.active ?? []) as { name: string }[];
        if (active.length !== after) return false;
        return activeAfter === undefined || active.map((a) => a.name).join() === activeAfter.join();
      });
      await server.settled();
      const names = await jobNames(ns);
      if (policy === "Allow") expect(names).toEqual([`c-${first}`, `c-${second}`]);
      if (policy === "Forbid") expect(names).toEqual([`c-${first}`]);
      if (policy === "Replace") expect(names).toEqual([`c-${second}`]);
    },
  );

  it("a suspended CronJob creates no Jobs; kubectl create job --from=cronjob runs one to completion", async () => {
    const { ns } = await namespace();
    await create(cronjobs(ns), cronJob("nightly", { suspend: true }));
    advance();
    await server.settled();
    expect(await jobNames(ns)).toEqual([]);
    expect((await kubectl(server, ["create", "job", "now", "--from=cronjob/nightly", "-n", ns])).code).toBe(0);
    const wait = await kubectl(server, ["wait", "--for=condition=complete", "job/now", "-n", ns, "--timeout=30s"]);
    expect(wait.code).toBe(0);
    const j = await get(`${jobs(ns)}/now`);
    expect(j.metadata.ownerReferences[0]).toMatchObject({ kind: "CronJob", name: "nightly" });
    expect((await server.request("DELETE", `${cronjobs(ns)}/nightly`)).status).toBe(200);
    await eventually(async () => (await jobNames(ns)).length === 0 && (await get(pods(ns))).items.length === 0, 10_000);
  });
});
