// `npm run gen:prices -- --data DIR [--region R] [--advisor-as-of YYYY-MM-DD]`: writes the shipped price snapshot.
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { PriceDataError } from "../data-dir.js";
import { buildPriceSnapshot, serializeSnapshot } from "./build.js";
import { snapshotFile } from "./index.js";

function main(): number {
  let values: { data?: string; region?: string; "advisor-as-of"?: string };
  try {
    values = parseArgs({
      options: { data: { type: "string" }, region: { type: "string" }, "advisor-as-of": { type: "string" } },
    }).values;
  } catch (err) {
    console.error(`gen:prices: ${(err as Error).message}`);
    return 2;
  }
  const asOf = values["advisor-as-of"];
  if (!values.data || (asOf !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(asOf))) {
    console.error("usage: npm run gen:prices -- --data DIR [--region us-east-1] [--advisor-as-of YYYY-MM-DD]");
    return 2;
  }
  const region = values.region ?? "us-east-1";
  try {
    const snapshot = buildPriceSnapshot({ dir: values.data, region, ...(asOf ? { advisorAsOf: asOf } : {}) });
    writeFileSync(snapshotFile(region), serializeSnapshot(snapshot));
    const c = snapshot._meta.counts;
    console.log(
      `${snapshotFile(region)}: ${c.types} types, ${c.onDemand} On-Demand prices, ${c.spotObserved} observed and ${c.spotDerived} derived Spot prices`,
    );
    return 0;
  } catch (err) {
    if (err instanceof PriceDataError) {
      console.error(`gen:prices: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

process.exitCode = main();
