// A local API server in a process of its own, for crash tests: state in DATA_FILE; prints one JSON line with where
// it listens ({ url, caPem, token }) and serves until it is killed.
import * as yaml from "js-yaml";
import { startLocalApiServer } from "../../../operator/local/apiserver/index.js";

const server = await startLocalApiServer({
  dataFile: process.env.DATA_FILE,
  compactMinBytes: process.env.COMPACT_MIN_BYTES ? Number(process.env.COMPACT_MIN_BYTES) : undefined,
  podTerminationMs: 0,
});
const config = yaml.load(server.kubeconfigYaml) as { users: { user: { token: string } }[] };
process.stdout.write(
  `${JSON.stringify({ url: server.url, caPem: server.caPem, token: config.users[0]!.user.token })}\n`,
);
