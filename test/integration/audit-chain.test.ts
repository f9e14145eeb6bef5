// The audit chain against the local API server: concurrent writers, export verification, retention and in-cluster tampering.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildEntry,
  buildExport,
  computeEntryHash,
  exportStatus,
  GENESIS_ANCHOR,
  verifyExport,
} from "../../src-shared/audit/chain.js";
import type { AuditRecord } from "../../src-shared/audit/types.js";
import {
  AUDIT_HASH_ANNOTATION,
  AUDIT_HEAD_CONFIGMAP,
  createAuditChainStore,
  type AuditChainStore,
} from "../../src-shared/audit/writer.js";
import { startLocalApiServer, type LocalApiServer } from "../../operator/local/apiserver/index.js";
import { KubeClient } from "../../src-shared/kube/client.js";

let server: LocalApiServer;
let clientA: KubeClient;
let clientB: KubeClient;
let nowMs = Date.UTC(2026, 0, 1);

beforeAll(async () => {
  server = await startLocalApiServer({ port: 0 });
  await server.installCrdFiles([new URL("../../crds", import.meta.url).pathname]);
  clientA = new KubeClient(server.kubeConfig);
  clientB = new KubeClient(server.kubeConfig);
  for (const name of ["org-chain", "org-retention", "org-tamper", "org-newest", "org-busy"]) {
    await clientA.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  }
});

afterAll(async () => {
  clientA.close();
  clientB.close();
  await server.stop();
});

const input = (namespace: string, i: number) => ({
  namespace,
  actor: `user${i}@a.test`,
  event: "PATCH /policies/binpack",
  resource: "cluster/prod",
  outcome: "success" as const,
  before: { aggressiveness: i },
  after: { aggressiveness: i + 1 },
});

const HEAD_REF = (namespace: string) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  namespace,
  name: AUDIT_HEAD_CONFIGMAP,
});

/** Stores a long valid chain straight through the API (as the writer would have, minus the head), many at a time. */
async function seedChain(namespace: string, count: number, dayMs = 0): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  let previous = GENESIS_ANCHOR;
  for (let i = 0; i < count; i++) {
    const record = buildEntry(input(namespace, i), previous, new Date(nowMs + i * dayMs).toISOString());
    records.push(record);
    previous = { sequence: record.seq, hash: record.hash };
  }
  for (let i = 0; i < count; i += 50) {
    await Promise.all(
      records.slice(i, i + 50).map((r) =>
        clientA.create({
          apiVersion: "spotoptimizer.io/v1alpha1",
          kind: "AuditEntry",
          metadata: { name: r.id, namespace, annotations: { [AUDIT_HASH_ANNOTATION]: r.hash } },
          spec: {
            actor: r.actor,
            event: r.event,
            resource: r.resource,
            outcome: r.outcome,
            timestamp: r.timestamp,
            sequence: r.seq,
            before: r.before,
            after: r.after,
            prevHash: r.prevHash,
          },
        } as never),
      ),
    );
  }
  return records;
}

async function exportOf(store: AuditChainStore, namespace: string) {
  const { anchor, entries, recordedHead, rebuilt } = await store.readChain(namespace);
  const doc = buildExport(namespace, entries, anchor);
  return {
    ...doc,
    ...(recordedHead ? { recorded_head: recordedHead } : {}),
    ...(rebuilt ? { head_rebuilt: rebuilt } : {}),
  };
}

describe("audit chain in the cluster", () => {
  it("stays one unbroken chain with two concurrent writers (two replicas)", async () => {
    const a = createAuditChainStore({ client: clientA, now: () => new Date(nowMs) });
    const b = createAuditChainStore({ client: clientB, now: () => new Date(nowMs) });
    const writes = [];
    for (let i = 0; i < 12; i++) writes.push((i % 2 ? a : b).record(input("org-chain", i)));
    const records = await Promise.all(writes);
    expect(new Set(records.map((r) => r.seq)).size).toBe(12);
    const doc = await exportOf(a, "org-chain");
    expect(doc.entries.map((e) => e.seq)).toEqual([...Array(12).keys()]);
    expect(verifyExport(doc)).toMatchObject({ ok: true, count: 12 });
    const head = await a.readHead("org-chain");
    expect(head.head).toEqual(doc.head);
  });

  it("keeps the chain verifiable after retention removed the oldest entries", async () => {
    const store = createAuditChainStore({ client: clientA, now: () => new Date(nowMs) });
    for (let i = 0; i < 6; i++) {
      nowMs += 86_400_000;
      await store.record(input("org-retention", i));
    }
    const result = await store.applyRetention("org-retention", new Date(nowMs - 2.5 * 86_400_000));
    expect(result.removed).toBe(3);
    const doc = await exportOf(store, "org-retention");
    expect(doc.entries.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(doc.anchor.sequence).toBe(2);
    expect(verifyExport(doc).ok).toBe(true);
    const left = await clientA.list({
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "AuditEntry",
      namespace: "org-retention",
    });
    expect(left.items).toHaveLength(3);
    await store.record(input("org-retention", 9));
    expect(verifyExport(await exportOf(store, "org-retention"))).toMatchObject({ ok: true, count: 4 });
  });

  it("the retention sweep applies each chain's stored policy and leaves chains without one alone", async () => {
    const store = createAuditChainStore({ client: clientA, now: () => new Date(nowMs) });
    for (const ns of ["org-sweep-a", "org-sweep-b"]) {
      await clientA.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
      for (let i = 0; i < 4; i++) {
        nowMs += 86_400_000;
        await store.record(input(ns, i));
      }
    }
    await store.updateHead("org-sweep-a", (s) => ({ ...s, retentionDays: 2 }));
    // A namespace without a chain is skipped.
    const removed = await store.sweepRetention(["org-sweep-a", "org-sweep-b", "org-no-chain"]);
    expect(removed["org-sweep-a"]).toBeGreaterThan(0);
    expect(removed["org-sweep-b"]).toBeUndefined();
    expect((await exportOf(store, "org-sweep-b")).count).toBe(4);
    // All four of org-sweep-a's entries are older than 2 days, but the newest always stays: writers chain onto it.
    const a = await exportOf(store, "org-sweep-a");
    expect(a.entries.map((e) => e.seq)).toEqual([3]);
    expect(removed["org-sweep-a"]).toBe(3);
    expect(verifyExport(a).ok).toBe(true);
  });

  it("detects an entry edited in the cluster (kubectl edit) in the next export", async () => {
    const store = createAuditChainStore({ client: clientA, now: () => new Date(nowMs) });
    for (let i = 0; i < 3; i++) await store.record(input("org-tamper", i));
    const ref = {
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "AuditEntry",
      namespace: "org-tamper",
      name: "audit-000000000001",
    };
    const obj = await clientA.get<{ spec: { actor: string } } & Record<string, unknown>>(ref);
    obj.spec.actor = "mallory@evil.test";
    await clientA.replace(obj as never);
    const verdict = verifyExport(await exportOf(store, "org-tamper"));
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.problem.id).toBe("audit-000000000001");
  });
});

const entryRef = (namespace: string, seq: number) => ({
  apiVersion: "spotoptimizer.io/v1alpha1",
  kind: "AuditEntry",
  namespace,
  name: `audit-${String(seq).padStart(12, "0")}`,
});

describe("tampering with the newest entry", () => {
  it("stores each entry's hash in the create itself, so no crash leaves one of ours without it", async () => {
    const store = createAuditChainStore({ client: clientA, now: () => new Date(nowMs) });
    const written = await store.record(input("org-newest", 0));
    const obj = await clientA.get<{ metadata: { annotations?: Record<string, string> } }>(
      entryRef("org-newest", 0) as never,
    );
    expect(obj.metadata.annotations?.[AUDIT_HASH_ANNOTATION]).toBe(written.hash);
  });

  it("reports an edited newest entry whose hash was removed, instead of re-computing one", async () => {
    const store = createAuditChainStore({ client: clientA, now: () => new Date(nowMs) });
    for (let i = 1; i < 4; i++) await store.record(input("org-newest", i));
    await clientA.patch(
      entryRef("org-newest", 3),
      { metadata: { annotations: { [AUDIT_HASH_ANNOTATION]: null } }, spec: { actor: "mallory@evil.test" } },
      { type: "merge" },
    );
    await clientA.patch(entryRef("org-newest", 3), { status: { hash: "" } }, { type: "merge", subresource: "status" });
    const verdict = verifyExport(await exportOf(store, "org-newest"));
    expect(verdict).toMatchObject({ ok: false, problem: { id: "audit-000000000003", reason: /no stored hash/ } });
    // The next append chains on; the blame stays on the edited entry, not on the innocent one after it.
    await store.record(input("org-newest", 4));
    const after = verifyExport(await exportOf(store, "org-newest"));
    expect(after).toMatchObject({ ok: false, problem: { id: "audit-000000000003" } });
  });

  it("reports an edited newest entry whose hash was re-computed, by the head ConfigMap's recorded hash", async () => {
    const ns = "org-rehashed";
    await clientA.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    const store = createAuditChainStore({ client: clientA, now: () => new Date(nowMs) });
    const written = [];
    for (let i = 0; i < 3; i++) written.push(await store.record(input(ns, i)));
    const { hash: _hash, ...content } = { ...written[2]!, actor: "mallory@evil.test" };
    const rehash = { [AUDIT_HASH_ANNOTATION]: computeEntryHash(content) };
    await clientA.patch(
      entryRef(ns, 2),
      { metadata: { annotations: rehash }, spec: { actor: content.actor } },
      { type: "merge" },
    );
    const verdict = verifyExport(await exportOf(store, ns));
    expect(verdict).toMatchObject({ ok: false, problem: { id: "audit-000000000002", reason: /head hash/ } });
  });

  it("still trusts an entry written before hashes moved into the create (its hash in status)", async () => {
    const ns = "org-legacy";
    await clientA.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    const [record] = await seedChain(ns, 1);
    const obj = await clientA.get<Record<string, unknown> & { metadata: { annotations?: Record<string, string> } }>(
      entryRef(ns, 0) as never,
    );
    delete obj.metadata.annotations;
    const stored = await clientA.replace<{ metadata: { annotations?: Record<string, string> } }>(obj as never);
    expect(stored.metadata.annotations).toBeUndefined();
    await clientA.replace({ ...(stored as object), status: { hash: record!.hash } } as never, "status");
    expect(verifyExport(await exportOf(createAuditChainStore({ client: clientA }), ns))).toMatchObject({ ok: true });
  });
});

describe("audit chain whose head ConfigMap is lost", () => {
  it("rebuilds the head from the entries: a 1500-entry chain takes the next append at 1500 and verifies", async () => {
    const ns = "org-lost-head";
    await clientA.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    const seeded = await seedChain(ns, 1500);
    expect(await clientA.getIfExists(HEAD_REF(ns))).toBeUndefined();
    const store = createAuditChainStore({ client: clientA, now: () => new Date(nowMs) });
    const appended = await store.record(input(ns, 1500));
    expect(appended.seq).toBe(1500);
    expect(appended.prevHash).toBe(seeded[1499]!.hash);
    const cm = await clientA.get<{ data: Record<string, string> }>(HEAD_REF(ns) as never);
    expect(cm.data).toMatchObject({
      headSequence: "1500",
      headHash: appended.hash,
      anchorSequence: "-1",
      anchorHash: "",
    });
    // The other replica, with no hint of its own, appends next without a walk of 409s either.
    expect((await createAuditChainStore({ client: clientB }).record(input(ns, 1501))).seq).toBe(1501);
    expect(verifyExport(await exportOf(store, ns))).toMatchObject({ ok: true, count: 1502 });
    // A hint far behind (a head update that kept failing) costs one LIST, not a walk either.
    await store.updateHead(ns, (s) => ({ ...s, head: { sequence: 0, hash: seeded[0]!.hash } }));
    expect((await store.record(input(ns, 1502))).seq).toBe(1502);
    expect(verifyExport(await exportOf(store, ns))).toMatchObject({ ok: true, count: 1503 });
  }, 120_000);

  it("recovers the retention anchor of a trimmed chain from its oldest entry", async () => {
    const ns = "org-lost-anchor";
    await clientA.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    const seeded = await seedChain(ns, 30, 86_400_000);
    const store = createAuditChainStore({ client: clientA, now: () => new Date(nowMs + 30 * 86_400_000) });
    const trimmed = await store.applyRetention(ns, new Date(nowMs + 10.5 * 86_400_000));
    expect(trimmed.anchor).toEqual({ sequence: 10, hash: seeded[10]!.hash });
    await clientA.delete(HEAD_REF(ns) as never);
    // Read before any append: the export starts from the recovered anchor and still verifies.
    const read = await exportOf(store, ns);
    expect(read.anchor).toEqual(trimmed.anchor);
    expect(verifyExport(read)).toMatchObject({ ok: true, count: 19 });
    const appended = await store.record(input(ns, 30));
    expect(appended.seq).toBe(30);
    const cm = await clientA.get<{ data: Record<string, string> }>(HEAD_REF(ns) as never);
    expect(cm.data).toMatchObject({ headSequence: "30", anchorSequence: "10", anchorHash: seeded[10]!.hash });
    expect(
      await clientA.getIfExists({
        ...HEAD_REF(ns),
        kind: "AuditEntry",
        apiVersion: "spotoptimizer.io/v1alpha1",
        name: "audit-000000000000",
      }),
    ).toBeUndefined();
    const doc = await exportOf(store, ns);
    expect(doc.entries.map((e) => e.seq)).toEqual([...Array(20).keys()].map((i) => i + 11));
    expect(verifyExport(doc)).toMatchObject({ ok: true, count: 20 });
  });
});

describe("a rebuilt head is never taken for an intact one", () => {
  const entryObject = (ns: string, seq: number) => ({
    apiVersion: "spotoptimizer.io/v1alpha1",
    kind: "AuditEntry",
    namespace: ns,
    name: `audit-${String(seq).padStart(12, "0")}`,
  });

  it("reads an entry appended between its LIST and the head as stored, not as an entry deleted from the end", async () => {
    const writer = createAuditChainStore({ client: clientB, now: () => new Date(nowMs) });
    await writer.record(input("org-busy", 0));
    // another writer's append lands right after the reader's LIST: entry created, then the head moved past it
    let appended = false;
    const racing = new Proxy(clientA, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (prop !== "listAll" || typeof value !== "function")
          return typeof value === "function" ? value.bind(target) : value;
        return async (...args: unknown[]) => {
          const listed = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          if (!appended) {
            appended = true;
            await writer.record(input("org-busy", 1));
          }
          return listed;
        };
      },
    });
    const chain = await createAuditChainStore({ client: racing, now: () => new Date(nowMs) }).readChain("org-busy");
    expect(appended).toBe(true);
    expect(chain.entries.map((e) => e.seq)).toEqual([0]);
    expect(chain.recordedHead?.sequence).toBe(1);
    expect(chain.storedHead.sequence).toBe(1);
    const doc = {
      ...buildExport("org-busy", chain.entries, chain.anchor),
      recorded_head: chain.recordedHead!,
      stored_head: chain.storedHead,
    };
    expect(verifyExport(doc).ok).toBe(true);
  });

  it("marks a chain trimmed and re-hashed behind a deleted ConfigMap as rebuilt, from the read on and for good", async () => {
    const ns = "org-rebuilt";
    await clientA.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    const store = createAuditChainStore({ client: clientA, now: () => new Date(nowMs) });
    await store.updateHead(ns, (s) => ({ ...s, retentionDays: 400 }));
    const written: AuditRecord[] = [];
    for (let i = 0; i < 6; i++) written.push(await store.record(input(ns, i)));
    expect(exportStatus(await exportOf(store, ns))).toMatchObject({ status: "intact" });
    // The attacker edits entry 3, re-hashes it and everything after it, drops the two oldest and deletes the head.
    let previous = { sequence: 2, hash: written[2]!.hash };
    for (const original of written.slice(3)) {
      const { hash: _h, ...content } = { ...original, prevHash: previous.hash, actor: "mallory@evil.test" };
      const hash = computeEntryHash(content);
      await clientA.patch(
        entryObject(ns, original.seq),
        {
          metadata: { annotations: { [AUDIT_HASH_ANNOTATION]: hash } },
          spec: { actor: content.actor, prevHash: content.prevHash },
        },
        { type: "merge" },
      );
      previous = { sequence: original.seq, hash };
    }
    for (const seq of [0, 1]) await clientA.delete(entryObject(ns, seq) as never);
    await clientA.delete(HEAD_REF(ns) as never);
    // Each link still checks out: only the missing head tells, and it is told.
    const missing = await exportOf(store, ns);
    expect(verifyExport(missing)).toMatchObject({ ok: true, count: 4 });
    expect(exportStatus(missing)).toMatchObject({
      status: "rebuilt",
      rebuilt: { at: null, sequence: 5, hash: previous.hash, entries: 4 },
      reason: expect.stringMatching(/missing.*up to sequence 5/),
    });
    // The next append rebuilds the ConfigMap, which records when and from what, and keeps saying so afterwards.
    nowMs += 60_000;
    await store.record(input(ns, 6));
    const cm = await clientA.get<{ data: Record<string, string> }>(HEAD_REF(ns) as never);
    expect(cm.data).toMatchObject({
      rebuiltAt: new Date(nowMs).toISOString(),
      rebuiltSequence: "5",
      rebuiltHash: previous.hash,
      rebuiltEntries: "4",
      headSequence: "6",
    });
    for (let i = 7; i < 10; i++) await createAuditChainStore({ client: clientB }).record(input(ns, i));
    await store.updateHead(ns, (s) => ({ ...s, retentionDays: 500 }));
    // Not even a change that leaves the mark out removes it.
    await store.updateHead(ns, ({ rebuilt: _mark, ...rest }) => rest);
    const later = await exportOf(store, ns);
    expect(verifyExport(later)).toMatchObject({ ok: true, count: 8 });
    expect(exportStatus(later)).toMatchObject({
      status: "rebuilt",
      rebuilt: { at: new Date(nowMs).toISOString(), sequence: 5, entries: 4 },
    });
  });

  it("gets the retention policy back from the newest entry, and says unknown when no entry recorded it", async () => {
    const ns = "org-rebuilt-retention";
    await clientA.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    const store = createAuditChainStore({ client: clientA, now: () => new Date(nowMs) });
    await store.updateHead(ns, (s) => ({ ...s, retentionDays: 30 }));
    await store.record(input(ns, 0));
    await clientA.delete(HEAD_REF(ns) as never);
    expect((await store.readChain(ns)).retentionDays).toBe(30);
    await store.record(input(ns, 1));
    expect((await store.readHead(ns)).retentionDays).toBe(30);

    // Entries written before the policy was recorded on them (seeded as an earlier version wrote them).
    const old = "org-rebuilt-unknown";
    await clientA.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: old } });
    await seedChain(old, 3, 86_400_000);
    const later = createAuditChainStore({ client: clientA, now: () => new Date(nowMs + 400 * 86_400_000) });
    await later.record(input(old, 3));
    const head = await later.readHead(old);
    expect(head.retentionDays).toBe("unknown");
    expect(head.rebuilt).toMatchObject({ sequence: 2, entries: 3 });
    const cm = await clientA.get<{ data: Record<string, string> }>(HEAD_REF(old) as never);
    expect(cm.data.retentionDays).toBe("unknown");
    // An unknown policy removes nothing, and the entry written under it says so too (a second loss stays unknown).
    expect(await later.sweepRetention([old])).not.toHaveProperty(old);
    expect((await exportOf(later, old)).count).toBe(4);
    await clientA.delete(HEAD_REF(old) as never);
    expect((await later.readChain(old)).retentionDays).toBe("unknown");
  });

  it("does not mark a new chain, whose ConfigMap is created with its first entry", async () => {
    const ns = "org-fresh";
    await clientA.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    const store = createAuditChainStore({ client: clientA, now: () => new Date(nowMs) });
    await store.record(input(ns, 0));
    expect((await store.readHead(ns)).rebuilt).toBeUndefined();
    expect(exportStatus(await exportOf(store, ns))).toMatchObject({ status: "intact" });
  });
});
