// Serves the browser example (this folder and the built package under /pkg/) on 127.0.0.1 next
// to the mock provider. `make browser-example`; stops after --for-ms (default 30 min) or Ctrl-C.
import http from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { startMockProvider } from "../../mock-provider/server.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const pkg = fileURLToPath(new URL("../../pkg/", import.meta.url));
const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };

export async function serveExample({ port = 0 } = {}) {
  const mock = await startMockProvider({ idleMs: 30 * 60_000 });
  const server = http.createServer(async (req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/config.json") {
      res.writeHead(200, { "content-type": types[".json"] });
      return res.end(JSON.stringify({ mockUrl: mock.url }));
    }
    const [root, rel] = path.startsWith("/pkg/") ? [pkg, path.slice(5)] : [here, path === "/" ? "index.html" : path.slice(1)];
    const file = normalize(join(root, rel));
    if (!file.startsWith(root)) return res.writeHead(403).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, mock, close: async () => { server.close(); await mock.close(); } };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = process.argv.indexOf("--for-ms");
  const forMs = arg > 0 ? Number(process.argv[arg + 1]) : 30 * 60_000;
  const example = await serveExample({ port: Number(process.env.PORT ?? 0) });
  console.log(`browser example: ${example.url}/   (mock provider ${example.mock.url})`);
  const stop = async () => { await example.close(); process.exit(0); };
  process.on("SIGINT", stop);
  setTimeout(stop, forMs);
}
