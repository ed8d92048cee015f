// ES module entry for Node: the CommonJS `nodejs` build (which loads its .wasm synchronously), re-exported.
import { createRequire } from "node:module";

const edgerec = createRequire(import.meta.url)("./pkg/node/edgerec_js.js");
export const { Engine, Session, TextEmbedder } = edgerec;
export default edgerec;
