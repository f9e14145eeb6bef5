// Generates protobuf-descriptors.json (field numbers, wire types, JSON names, pointer/omitempty) from k8s.io/api and k8s.io/apimachinery sources.
//
// Usage: npx tsx operator/local/apiserver/protobuf-gen.ts <k8s.io/api checkout> <k8s.io/apimachinery checkout> <tag>
// The two checkouts must be of the same release tag (the committed file names it). `generated.proto` gives the field
// numbers and types; the Go structs in the same package give what the proto cannot: JSON names of inlined structs,
// pointers (a zero value that was sent) and `omitempty` (a zero value that is not part of the JSON object).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** [number, json name, type, flags]; type is a scalar name, a message's full name, or "map:<key>:<value>". */
type FieldDescriptor = [number, string, string, string];

/** The API packages whose kinds the local API server serves or accepts as request bodies. */
const apiPackages = [
  "core/v1",
  "apps/v1",
  "batch/v1",
  "policy/v1",
  "rbac/v1",
  "coordination/v1",
  "networking/v1",
  "events/v1",
  "autoscaling/v1",
  "authentication/v1",
  "authorization/v1",
];
const machineryPackages = [
  "pkg/apis/meta/v1",
  "pkg/api/resource",
  "pkg/util/intstr",
  "pkg/runtime",
  "pkg/runtime/schema",
];

interface GoField {
  json: string;
  pointer: boolean;
  omitempty: boolean;
  inline: boolean;
}

/** Go struct fields by struct name and protobuf field name. */
function goFields(dir: string): Map<string, Map<string, GoField>> {
  const out = new Map<string, Map<string, GoField>>();
  const files = readdirSync(dir).filter((f) => f.endsWith(".go") && !f.endsWith("_test.go"));
  const source = files.map((f) => readFileSync(join(dir, f), "utf8")).join("\n");
  for (const m of source.matchAll(/^type (\w+) struct \{\n([\s\S]*?)^\}/gm)) {
    const fields = new Map<string, GoField>();
    for (const line of m[2]!.split("\n")) {
      const f = /^\s+(?:\w+\s+)?(\S+)\s+`[^`]*json:"([^"]*)"[^`]*protobuf:"([^"]*)"/.exec(line);
      if (!f) continue;
      const [jsonName, ...opts] = f[2]!.split(",");
      // An embedded struct's tag may omit name=: its proto field is the type name with a lower-case first letter.
      const embedded = /^\s+(\w+)\s+`/.exec(line)?.[1];
      const protoName =
        /name=(\w+)/.exec(f[3]!)?.[1] ?? (embedded ? embedded[0]!.toLowerCase() + embedded.slice(1) : undefined);
      if (!protoName) continue;
      fields.set(protoName, {
        json: jsonName ?? "",
        pointer: f[1]!.startsWith("*"),
        omitempty: opts.includes("omitempty"),
        inline: opts.includes("inline"),
      });
    }
    out.set(m[1]!, fields);
  }
  return out;
}

function flagsOf(repeated: boolean, gf: GoField | undefined): string {
  if (!gf) return repeated ? "r" : "";
  return [repeated && "r", gf.pointer && "p", gf.omitempty && "o", gf.inline && "i"].filter(Boolean).join("");
}

function resolveType(type: string, pkg: string): string {
  const map = /^map<\s*([\w.]+)\s*,\s*([\w.]+)\s*>$/.exec(type);
  if (map) return `map:${resolveType(map[1]!, pkg)}:${resolveType(map[2]!, pkg)}`;
  if (/^(string|bytes|bool|int32|int64|double|float|uint32|uint64)$/.test(type)) return type;
  return type.startsWith(".") ? type.slice(1) : `${pkg}.${type}`;
}

/** Parses one generated.proto (no nested messages, as go-to-protobuf writes them). */
function protoMessages(
  file: string,
  go: Map<string, Map<string, GoField>>,
  out: Record<string, FieldDescriptor[]>,
): string {
  const text = readFileSync(file, "utf8");
  const pkg = /^package ([\w.]+);/m.exec(text)![1]!;
  for (const m of text.matchAll(/^message (\w+) \{\n([\s\S]*?)^\}/gm)) {
    const fields: FieldDescriptor[] = [];
    const structFields = go.get(m[1]!);
    for (const f of m[2]!.matchAll(/^\s+(optional |repeated )?(map<[^>]+>|[\w.]+) (\w+) = (\d+);/gm)) {
      const gf = structFields?.get(f[3]!);
      const flags = flagsOf(f[1] === "repeated ", gf);
      fields.push([Number(f[4]), gf?.json || f[3]!, resolveType(f[2]!, pkg), flags]);
    }
    out[`${pkg}.${m[1]}`] = fields;
  }
  return pkg;
}

function groupName(dir: string): string {
  const register = readFileSync(join(dir, "register.go"), "utf8");
  return /const GroupName = "([^"]*)"/.exec(register)![1]!;
}

function main(): void {
  const [apiDir, machineryDir, tag] = process.argv.slice(2);
  if (!apiDir || !machineryDir || !tag) {
    console.error("usage: protobuf-gen.ts <k8s.io/api dir> <k8s.io/apimachinery dir> <tag>");
    process.exit(2);
  }
  const messages: Record<string, FieldDescriptor[]> = {};
  const apiVersions: Record<string, string> = {};
  for (const p of machineryPackages)
    protoMessages(join(machineryDir, p, "generated.proto"), goFields(join(machineryDir, p)), messages);
  for (const p of apiPackages) {
    const dir = join(apiDir, p);
    const pkg = protoMessages(join(dir, "generated.proto"), goFields(dir), messages);
    const group = groupName(dir);
    apiVersions[pkg] = group ? `${group}/${p.split("/")[1]}` : p.split("/")[1]!;
  }
  apiVersions["k8s.io.apimachinery.pkg.apis.meta.v1"] = "meta.k8s.io/v1";
  const out = {
    source: `k8s.io/api and k8s.io/apimachinery ${tag}: generated.proto and the Go types of the listed packages`,
    generator: "operator/local/apiserver/protobuf-gen.ts",
    apiVersions,
    messages,
  };
  writeFileSync(new URL("./protobuf-descriptors.json", import.meta.url), JSON.stringify(out) + "\n");
}

main();
