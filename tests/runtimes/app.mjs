// The tiny app (../bundlers/app/core.js) through the runtime's own resolution of the package.
import * as ro from "reliable-orchestrator";
import { demo } from "../bundlers/app/core.js";

console.log(await demo(ro));
