// The generated Karpenter CRDs local mode installs: not stale against the upstream files, and carrying provenance.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { expect, it } from "vitest";
import { describeWithSharedData, sharedDataDir } from "../../test/support/shared-data.js";
import {
  KARPENTER_CRD_FILE,
  KARPENTER_VERSION,
  PROVENANCE_ANNOTATION,
  renderKarpenterCrds,
  renderedDate,
} from "./crds.js";

const committed = readFileSync(KARPENTER_CRD_FILE, "utf8");

describeWithSharedData("generated Karpenter CRDs", () => {
  it("match what `npm run gen:karpenter` renders from ../shared/data/karpenter-crds (run it when this fails)", () => {
    const date = renderedDate(committed);
    expect(date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const fresh = renderKarpenterCrds({ sourceDir: join(sharedDataDir, "karpenter-crds"), date: date! });
    expect(committed).toBe(fresh);
  });

  it("hold NodePool, NodeClaim and EC2NodeClass with the upstream schemas, each naming its source and version", () => {
    const docs = yaml.loadAll(committed) as Array<Record<string, any>>;
    expect(docs.map((d) => d.spec.names.kind)).toEqual(["NodePool", "NodeClaim", "EC2NodeClass"]);
    const upstream = yaml.load(
      readFileSync(join(sharedDataDir, "karpenter-crds/karpenter.sh_nodepools.yaml"), "utf8"),
    ) as Record<string, any>;
    expect(docs[0]!.spec).toEqual(upstream.spec);
    for (const doc of docs)
      expect(doc.metadata.annotations[PROVENANCE_ANNOTATION]).toContain(
        `aws/karpenter-provider-aws ${KARPENTER_VERSION}`,
      );
    expect(committed).toMatch(/^# source: aws\/karpenter-provider-aws v1\.14\.1/m);
  });
});
