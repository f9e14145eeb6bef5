// The gnostic OpenAPIv2 protobuf encoding: bytes written out by hand from OpenAPIv2.proto's field numbers.
import { describe, expect, it } from "vitest";
import { protoFields, protoMessage } from "../../../../test/support/proto-fields.js";
import { encodeOpenApiV2Document } from "./gnostic.js";

const hex = (doc: Record<string, unknown>): string => encodeOpenApiV2Document(doc).toString("hex");
const text = (s: string): string => Buffer.from(s).toString("hex");

describe("encodeOpenApiV2Document", () => {
  it("writes strings and nested messages, and an empty message that is present", () => {
    // swagger (1), info (2: title 1, version 2), paths (8) empty but present: kubectl tells present from absent.
    expect(hex({ swagger: "2.0", info: { title: "T", version: "1" }, paths: {} })).toBe(
      `0a03${text("2.0")}` + `1206 0a01${text("T")} 1201${text("1")}`.replace(/ /g, "") + "4200",
    );
  });

  it("writes a schema's type as a TypeItem and additionalProperties: false as the oneof's boolean", () => {
    // definitions (9) > NamedSchema (1: name 1, value 2) > Schema: additionalProperties (21) > boolean (2) = false,
    // type (22) > value (1).
    const schema = `aa01 02 1000 b201 08 0a06${text("object")}`;
    const named = `0a01${text("A")} 1210 ${schema}`;
    expect(hex({ definitions: { A: { type: "object", additionalProperties: false } } })).toBe(
      `4a17 0a15 ${named}`.replace(/ /g, ""),
    );
  });

  it("keeps a vendor extension as a NamedAny whose Any holds the value as YAML", () => {
    // vendor_extension (16) > NamedAny (name 1, value 2) > Any (yaml 2).
    const yaml = '{"a": [1, "b"]}\n';
    expect(hex({ "x-k": { a: [1, "b"] } })).toBe(`820119 0a03${text("x-k")} 1212 1210${text(yaml)}`.replace(/ /g, ""));
  });

  it("writes parameters as reference, query or body by the oneofs, and responses by code", () => {
    const doc = {
      paths: {
        "/p": {
          get: {
            parameters: [
              { $ref: "#/parameters/x" },
              { name: "q", in: "query", type: "string", uniqueItems: true },
              { name: "body", in: "body", required: true, schema: { $ref: "#/definitions/A" } },
            ],
            responses: { "200": { description: "OK" } },
          },
        },
      },
    };
    const paths = protoMessage(encodeOpenApiV2Document(doc), 8);
    const pathItem = protoMessage(protoMessage(paths, 2), 2);
    const operation = protoMessage(pathItem, 2);
    const [ref, query, body] = protoFields(operation)
      .filter((f) => f.num === 8)
      .map((f) => f.value as Buffer);
    expect(protoMessage(protoMessage(ref!, 2), 1).toString()).toBe("#/parameters/x");
    // ParametersItem.parameter (1) > Parameter.non_body_parameter (2) > query_parameter_sub_schema (3).
    const q = protoMessage(protoMessage(protoMessage(query!, 1), 2), 3);
    expect(protoFields(q).map((f) => [f.num, Buffer.isBuffer(f.value) ? f.value.toString() : f.value])).toEqual([
      [2, "query"],
      [4, "q"],
      [6, "string"],
      [20, 1],
    ]);
    // ParametersItem.parameter (1) > Parameter.body_parameter (1): name 2, in 3, required 4, schema 5 > $ref 1.
    const b = protoMessage(protoMessage(body!, 1), 1);
    expect(protoFields(b).map((f) => f.num)).toEqual([2, 3, 4, 5]);
    expect(protoMessage(protoMessage(b, 5), 1).toString()).toBe("#/definitions/A");
    // Responses.response_code (1) > NamedResponseValue (name 1, value 2) > ResponseValue.response (1) > description 1.
    const code = protoMessage(protoMessage(operation, 9), 1);
    expect(protoMessage(code, 1).toString()).toBe("200");
    expect(protoMessage(protoMessage(protoMessage(code, 2), 1), 1).toString()).toBe("OK");
  });

  it("refuses a key swagger 2.0 has no place for, as gnostic's parser does", () => {
    expect(() => encodeOpenApiV2Document({ definitions: { A: { type: "string", nullable: true } } })).toThrow(
      "$.definitions.A.nullable has no place in the gnostic OpenAPI v2 model",
    );
    expect(() => encodeOpenApiV2Document({ swagger: 2 })).toThrow("$.swagger is not a string");
  });
});
