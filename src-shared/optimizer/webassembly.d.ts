// Node has the WebAssembly global; the ES libraries this project compiles against do not type it (only the DOM's do).
declare namespace WebAssembly {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- an opaque handle: compiled code
  interface Module {}
  function compile(bytes: Uint8Array): Promise<Module>;
}
