// Integration: Lease leader election — exactly one leader of two, hand-over on clean stop, after a crash and from a
// leader whose connection to the API server went silent.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeConfig } from "@kubernetes/client-node";
import { startLocalApiServer, type LocalApiServer } from "../../operator/local/apiserver/index.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { LeaderElector } from "../../src-shared/runtime/index.js";
import { waitFor } from "./runtime-support.js";

let server: LocalApiServer;
let client: KubeClient;
const ns = "leader-test";
const timing = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 100 };

beforeAll(async () => {
  server = await startLocalApiServer({ port: 0 });
  client = new KubeClient(server.kubeConfig);
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
});

afterAll(async () => {
  client.close();
  await server.stop();
});

function candidate(name: string, identity: string, log: string[]): LeaderElector {
  return new LeaderElector({
    client,
    namespace: ns,
    name,
    identity,
    ...timing,
    onStartedLeading: () => log.push(`${identity}:start`),
    onStoppedLeading: () => log.push(`${identity}:stop`),
  });
}

async function holder(name: string): Promise<string | undefined> {
  const lease = await client.get<KubeObject & { spec?: { holderIdentity?: string } }>({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    namespace: ns,
    name,
  });
  return lease.spec?.holderIdentity;
}

/** A TCP relay to the API server that can go silent: connections stay open, nothing passes either way. */
async function silenceableRelay(): Promise<{
  kubeConfig: KubeConfig;
  silence: () => void;
  close: () => Promise<void>;
}> {
  const target = new URL(server.kubeConfig.getCurrentCluster()!.server);
  const sockets = new Set<net.Socket>();
  let silent = false;
  const relay = net.createServer((inbound) => {
    const outbound = net.connect(Number(target.port), target.hostname);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      // after pipe(), which resumes its source
      if (silent) socket.pause();
      socket.on("error", () => undefined);
      socket.on("close", () => (inbound.destroy(), outbound.destroy()));
    }
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(server.kubeConfig.exportConfig());
  const cluster = kubeConfig.getCurrentCluster()!;
  const port = (relay.address() as net.AddressInfo).port;
  kubeConfig.clusters = kubeConfig.clusters.map((c) =>
    c.name === cluster.name ? { ...c, server: `https://127.0.0.1:${port}` } : c,
  );
  return {
    kubeConfig,
    silence: () => {
      silent = true;
      for (const socket of sockets) socket.pause();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    },
  };
}

describe("LeaderElector", () => {
  it("of two candidates exactly one leads; on a clean stop the lease is released and the other takes over", async () => {
    const log: string[] = [];
    const a = candidate("clean", "a", log);
    const b = candidate("clean", "b", log);
    a.start();
    b.start();
    await waitFor(() => a.isLeader() || b.isLeader());
    const [leader, standby] = a.isLeader() ? [a, b] : [b, a];
    // Several retry periods later it is still exactly one, and the Lease names it.
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, timing.retryPeriodMs));
      expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
    }
    expect(await holder("clean")).toBe(leader.identity);

    const stoppedAt = Date.now();
    await leader.stop();
    expect(leader.isLeader()).toBe(false);
    await waitFor(() => standby.isLeader(), {
      timeoutMs: timing.leaseDurationMs,
      message: "standby to lead within the lease duration",
    });
    expect(Date.now() - stoppedAt).toBeLessThanOrEqual(timing.leaseDurationMs);
    expect(await holder("clean")).toBe(standby.identity);
    // a released lease taken by another counts as a transition, as in client-go
    const lease = await client.get<KubeObject & { spec?: { leaseTransitions?: number } }>({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: ns,
      name: "clean",
    });
    expect(lease.spec?.leaseTransitions).toBe(1);
    await standby.stop();
    expect(log).toEqual([
      `${leader.identity}:start`,
      `${leader.identity}:stop`,
      `${standby.identity}:start`,
      `${standby.identity}:stop`,
    ]);
  });

  it("takes over from a leader that died without releasing, once the lease expires", async () => {
    const log: string[] = [];
    const a = candidate("crash", "a", log);
    a.start();
    await waitFor(() => a.isLeader());
    const b = candidate("crash", "b", log);
    b.start();
    await new Promise((r) => setTimeout(r, timing.retryPeriodMs * 3));
    expect(b.isLeader()).toBe(false);

    await a.stop({ releaseLease: false });
    expect(await holder("crash")).toBe("a");
    await waitFor(() => b.isLeader(), {
      timeoutMs: timing.leaseDurationMs + 3 * timing.retryPeriodMs + 2_000,
      message: "takeover",
    });
    expect(await holder("crash")).toBe("b");
    await b.stop();
  });

  it("a leader whose requests hang steps down by its renew deadline, before another may take the lease", async () => {
    const relay = await silenceableRelay();
    const cutOff = new KubeClient(relay.kubeConfig);
    const log: string[] = [];
    const a = new LeaderElector({
      client: cutOff,
      namespace: ns,
      name: "silent",
      identity: "a",
      ...timing,
      onStartedLeading: () => log.push("a:start"),
      onStoppedLeading: () => log.push("a:stop"),
    });
    a.start();
    await waitFor(() => a.isLeader());
    const b = candidate("silent", "b", log);
    b.start();
    relay.silence();
    const both: number[] = [];
    const sampler = setInterval(() => {
      if (a.isLeader() && b.isLeader()) both.push(Date.now());
    }, 20);
    try {
      await waitFor(() => b.isLeader(), { timeoutMs: timing.leaseDurationMs + 3_000, message: "takeover" });
      expect(a.isLeader()).toBe(false);
      expect(both).toEqual([]);
      expect(log).toEqual(["a:start", "a:stop", "b:start"]);
      expect(await holder("silent")).toBe("b");
    } finally {
      clearInterval(sampler);
      await b.stop();
      await a.stop({ releaseLease: false });
      cutOff.close();
      await relay.close();
    }
  });

  it("never has two leaders when many candidates race for a fresh lease", async () => {
    const log: string[] = [];
    const electors = ["c1", "c2", "c3", "c4"].map((id) => candidate("race", id, log));
    electors.forEach((e) => e.start());
    await waitFor(() => electors.some((e) => e.isLeader()));
    for (let i = 0; i < 5; i++) {
      expect(electors.filter((e) => e.isLeader())).toHaveLength(1);
      await new Promise((r) => setTimeout(r, timing.retryPeriodMs));
    }
    expect(log.filter((l) => l.endsWith(":start"))).toHaveLength(1);
    await Promise.all(electors.map((e) => e.stop()));
  });
});

describe("KubeClient over a connection gone silent", () => {
  it("fails the request at its time limit instead of waiting for ever", async () => {
    const relay = await silenceableRelay();
    const cutOff = new KubeClient(relay.kubeConfig, { requestTimeoutMs: 5_000 });
    try {
      const ref = { apiVersion: "v1", kind: "Namespace", name: ns };
      expect((await cutOff.get(ref)).metadata?.name).toBe(ns);
      relay.silence();
      await expect(cutOff.get(ref)).rejects.toThrow(
        /^GET \/api\/v1\/namespaces\/leader-test: no answer .* within 5 s$/,
      );
    } finally {
      cutOff.close();
      await relay.close();
    }
  });
});
