// Streamed replies of the mock provider: a whole answer (OpenAI or Anthropic shape) sent as
// server-sent events in the provider's own streaming format, with stream faults:
//   stall_before  { delayMs }                 headers sent, then nothing for delayMs (default: until closed)
//   stall_after   { afterChunks, delayMs }    a stall after N text chunks
//   cut           { afterChunks }             the connection is destroyed after N text chunks
//   malformed_event { afterChunks }           an event that is not JSON after N text chunks
//   error_event   { afterChunks }             a provider error event (Anthropic overloaded_error,
//                                             OpenAI an `error` object) after N text chunks
//   no_terminal   {}                          the body ends without [DONE] / message_stop
// Any fault may carry `chunkDelayMs` (default 5): the pause between events.

/** The answer's text cut into small pieces, as providers stream it. */
function pieces(text, size = 6) {
  const out = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length ? out : [""];
}

const sleep = (ms, res) =>
  new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      res.off("close", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    res.on("close", done);
  });

function openaiEvents(answer) {
  const base = { id: answer.id, object: "chat.completion.chunk", created: answer.created, model: answer.model };
  const choice = answer.choices[0];
  const text = choice.message.content ?? "";
  return {
    first: [{ data: { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] } }],
    text: pieces(text).map((piece) => ({ data: { ...base, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] } })),
    last: [
      { data: { ...base, choices: [{ index: 0, delta: {}, finish_reason: choice.finish_reason }] } },
      { data: { ...base, choices: [], usage: answer.usage } },
    ],
    terminal: [{ raw: "data: [DONE]\n\n" }],
    error: { data: { error: { message: "The server had an error while processing your request.", type: "server_error", param: null, code: null } } },
  };
}

function anthropicEvents(answer) {
  const text = answer.content.filter((b) => b.type === "text").map((b) => b.text).join("");
  const start = { ...answer, content: [], stop_reason: null, usage: { input_tokens: answer.usage.input_tokens, output_tokens: 1 } };
  return {
    first: [
      { event: "message_start", data: { type: "message_start", message: start } },
      { event: "content_block_start", data: { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } } },
      { event: "ping", data: { type: "ping" } },
    ],
    text: pieces(text).map((piece) => ({ event: "content_block_delta", data: { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: piece } } })),
    last: [
      { event: "content_block_stop", data: { type: "content_block_stop", index: 0 } },
      { event: "message_delta", data: { type: "message_delta", delta: { stop_reason: answer.stop_reason, stop_sequence: null }, usage: { output_tokens: answer.usage.output_tokens } } },
    ],
    terminal: [{ event: "message_stop", data: { type: "message_stop" } }],
    error: { event: "error", data: { type: "error", error: { type: "overloaded_error", message: "Overloaded" } } },
  };
}

function encode(e) {
  if (e.raw) return e.raw;
  return `${e.event ? `event: ${e.event}\n` : ""}data: ${JSON.stringify(e.data)}\n\n`;
}

/**
 * Streams `answer` to `res` in `format`'s event format, applying a stream fault if given.
 * `headers` are extra response headers (CORS, request ids).
 */
export async function streamReply(res, format, answer, fault, headers = {}) {
  const events = format === "anthropic" ? anthropicEvents(answer) : openaiEvents(answer);
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", ...headers });
  const kind = fault?.kind;
  const gap = fault?.chunkDelayMs ?? 5;
  const write = async (e) => {
    if (res.destroyed) return false;
    res.write(encode(e));
    await sleep(gap, res);
    return !res.destroyed;
  };
  if (kind === "stall_before") {
    await sleep(fault.delayMs ?? 2 ** 31 - 1, res);
    if (res.destroyed) return;
  }
  for (const e of events.first) if (!(await write(e))) return;
  let sent = 0;
  for (const e of events.text) {
    if (sent === (fault?.afterChunks ?? -1)) {
      if (kind === "cut") return res.socket?.destroy();
      if (kind === "malformed_event") {
        res.write(format === "anthropic" ? "event: content_block_delta\ndata: {\"type\": \"content_blo\n\n" : "data: {\"id\": \"broken\n\n");
        return res.end();
      }
      if (kind === "error_event") {
        res.write(encode(events.error));
        return res.end();
      }
      if (kind === "stall_after") {
        await sleep(fault.delayMs ?? 2 ** 31 - 1, res);
        if (res.destroyed) return;
      }
    }
    if (!(await write(e))) return;
    sent += 1;
  }
  for (const e of events.last) if (!(await write(e))) return;
  if (kind !== "no_terminal") for (const e of events.terminal) if (!(await write(e))) return;
  res.end();
}
