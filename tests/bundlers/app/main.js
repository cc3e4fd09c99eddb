// The package's default entry (bundlers that emit the .wasm asset: Vite, webpack).
import * as ro from "reliable-orchestrator";
import { demo, show } from "./core.js";

demo(ro).then(show, (e) => show(`error: ${e?.stack ?? e}`));
