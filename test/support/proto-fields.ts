// Reads the top-level fields of a protobuf message (wire types varint and length-delimited), to check encoders from outside.
export interface ProtoField {
  num: number;
  /** A varint's value, or a length-delimited field's bytes. */
  value: number | Buffer;
}

export function protoFields(buf: Uint8Array): ProtoField[] {
  const out: ProtoField[] = [];
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      const b = buf[pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
    }
  };
  while (pos < buf.length) {
    const tag = varint();
    const wire = tag % 8;
    const num = Math.floor(tag / 8);
    if (wire === 0) out.push({ num, value: varint() });
    else if (wire === 2) {
      const length = varint();
      out.push({ num, value: Buffer.from(buf.subarray(pos, pos + length)) });
      pos += length;
    } else throw new Error(`wire type ${wire} is not read here`);
  }
  return out;
}

/** The one length-delimited field `num` of a message (throws when there is not exactly one). */
export function protoMessage(buf: Uint8Array, num: number): Buffer {
  const found = protoFields(buf).filter((f) => f.num === num);
  if (found.length !== 1 || !Buffer.isBuffer(found[0]!.value)) throw new Error(`field ${num}: ${found.length} found`);
  return found[0]!.value;
}
