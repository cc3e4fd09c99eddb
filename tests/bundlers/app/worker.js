// A web worker (webpack --target webworker): the default import must not pick the workerd entry.
import * as ro from "reliable-orchestrator";
import { demo } from "./core.js";

demo(ro).then((r) => postMessage(r), (e) => postMessage(`error: ${e?.stack ?? e}`));
