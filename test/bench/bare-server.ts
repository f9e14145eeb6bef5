// The facade bench's baseline as its own process: a bare express handler answering a JSON document with res.json
// (the same call the facade's routes end in). Env: DOCUMENT (path of the JSON file), PORT; logs "listening" on stdout.
import { readFileSync } from "node:fs";
import express from "express";

const document: unknown = JSON.parse(readFileSync(process.env.DOCUMENT ?? "", "utf8"));
const app = express();
app.get("/bare", (_req, res) => {
  res.json(document);
});
const server = app.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log("listening");
});
process.once("SIGTERM", () => server.close(() => process.exit(0)));
