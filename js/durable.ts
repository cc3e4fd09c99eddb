// A strongly consistent idempotency store on Cloudflare Durable Objects. One object per key
// (so keys never queue behind each other); inside an object, a read and the write that
// follows it run with no other request in between (Durable Object input gates), which makes
// `putIfAbsent` atomic across every isolate and location. Speaks JSON over the object's
// `fetch`, so this module needs no `cloudflare:workers` import and loads in any environment.
import type { Store } from "./types.js";

/** The part of a Durable Object namespace binding this store uses. */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(input: string, init?: RequestInit): Promise<Response> };
}

/** The part of a Durable Object's state the object uses. */
export interface DurableObjectStateLike {
  storage: {
    get<T>(key: string): Promise<T | undefined>;
    put<T>(key: string, value: T): Promise<void>;
    delete(key: string): Promise<boolean>;
    deleteAll(): Promise<void>;
    setAlarm(at: number): Promise<void>;
  };
}

type Op =
  | { op: "get"; key: string }
  | { op: "put" | "putIfAbsent"; key: string; value: string; ttlMs: number }
  | { op: "delete"; key: string }
  | { op: "compareAndSwap"; key: string; oldValue: string; value: string; ttlMs: number };

interface Entry {
  value: string;
  expiresAt: number;
}

/**
 * The Durable Object class behind `durableObjectStore`. Export it from your Worker and bind
 * it (see worker-example/wrangler.toml):
 *
 *     export { IdempotencyDurableObject } from "reliable-orchestrator";
 */
export class IdempotencyDurableObject {
  readonly #state: DurableObjectStateLike;

  constructor(state: DurableObjectStateLike, _env?: unknown) {
    this.#state = state;
  }

  async #live(key: string): Promise<Entry | undefined> {
    const entry = await this.#state.storage.get<Entry>(key);
    if (entry !== undefined && entry.expiresAt <= Date.now()) {
      await this.#state.storage.delete(key);
      return undefined;
    }
    return entry;
  }

  async #write(key: string, value: string, ttlMs: number): Promise<void> {
    const expiresAt = Date.now() + ttlMs;
    await this.#state.storage.put<Entry>(key, { value, expiresAt });
    await this.#state.storage.setAlarm(expiresAt);
  }

  async fetch(request: Request): Promise<Response> {
    let op: Op;
    try {
      op = (await request.json()) as Op;
    } catch {
      return Response.json({ error: "body must be JSON" }, { status: 400 });
    }
    switch (op.op) {
      case "get":
        return Response.json({ value: (await this.#live(op.key))?.value ?? null });
      case "put":
        await this.#write(op.key, op.value, op.ttlMs);
        return Response.json({ ok: true });
      case "putIfAbsent": {
        if ((await this.#live(op.key)) !== undefined) return Response.json({ inserted: false });
        await this.#write(op.key, op.value, op.ttlMs);
        return Response.json({ inserted: true });
      }
      case "delete":
        await this.#state.storage.delete(op.key);
        return Response.json({ ok: true });
      case "compareAndSwap": {
        // The stored value as it is, expired or not: the caller saw it expired and replaces it.
        const entry = await this.#state.storage.get<Entry>(op.key);
        if (entry?.value !== op.oldValue) return Response.json({ swapped: false });
        await this.#write(op.key, op.value, op.ttlMs);
        return Response.json({ swapped: true });
      }
      default:
        return Response.json({ error: "unknown op" }, { status: 400 });
    }
  }

  /** Expired records leave storage when their time comes. */
  async alarm(): Promise<void> {
    await this.#state.storage.deleteAll();
  }
}

/**
 * A store on `IdempotencyDurableObject`s: strongly consistent, with an atomic `putIfAbsent`,
 * so one key executes once across isolates and locations.
 */
export function durableObjectStore(namespace: DurableObjectNamespaceLike): Store {
  const call = async <T>(body: Op): Promise<T> => {
    const stub = namespace.get(namespace.idFromName(body.key));
    const response = await stub.fetch("https://idempotency.invalid/", { method: "POST", body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`Durable Object store answered ${response.status}`);
    return (await response.json()) as T;
  };
  return {
    consistency: "strong",
    async get(key) {
      return (await call<{ value: string | null }>({ op: "get", key })).value;
    },
    async put(key, value, { ttlMs }) {
      await call({ op: "put", key, value, ttlMs });
    },
    async delete(key) {
      await call({ op: "delete", key });
    },
    async putIfAbsent(key, value, { ttlMs }) {
      return (await call<{ inserted: boolean }>({ op: "putIfAbsent", key, value, ttlMs })).inserted;
    },
    async compareAndSwap(key, oldValue, value, { ttlMs }) {
      return (await call<{ swapped: boolean }>({ op: "compareAndSwap", key, oldValue, value, ttlMs })).swapped;
    },
  };
}
