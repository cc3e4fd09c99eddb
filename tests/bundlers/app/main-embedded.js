// The embedded entry: the one documented line for esbuild, Rollup, iife and pre-ES2022 targets.
import * as ro from "reliable-orchestrator/embedded";
import { demo, show } from "./core.js";

demo(ro).then(show, (e) => show(`error: ${e?.stack ?? e}`));
