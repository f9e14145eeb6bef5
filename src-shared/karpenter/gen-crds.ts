// `npm run gen:karpenter [-- SOURCE_DIR]`: renders Karpenter's CRDs into src-shared/karpenter/crds.generated.yaml.
import { writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { KARPENTER_CRD_FILE, renderKarpenterCrds } from "./crds.js";

const sourceDir =
  process.argv[2] ?? resolve(dirname(fileURLToPath(import.meta.url)), "../../../shared/data/karpenter-crds");
const date = new Date().toISOString().slice(0, 10);
writeFileSync(KARPENTER_CRD_FILE, renderKarpenterCrds({ sourceDir, date }));
console.log(`Wrote ${KARPENTER_CRD_FILE} from ${sourceDir}`);
