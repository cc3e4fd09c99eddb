// Store adapters for idempotency records: in memory, Workers KV, IndexedDB.
// Records carry their own expiry, so a coarse store TTL never extends a record's life.
import type { Store } from "./types.js";

/** One isolate's memory: strongly consistent, with an atomic putIfAbsent. */
export function memoryStore(): Store & { readonly size: number } {
  const entries = new Map<string, { value: string; expiresAt: number }>();
  const live = (key: string): string | null => {
    const entry = entries.get(key);
    if (entry === undefined) return null;
    if (entry.expiresAt <= Date.now()) {
      entries.delete(key);
      return null;
    }
    return entry.value;
  };
  return {
    consistency: "strong",
    get size() {
      for (const key of [...entries.keys()]) live(key);
      return entries.size;
    },
    async get(key) {
      return live(key);
    },
    async put(key, value, { ttlMs }) {
      entries.set(key, { value, expiresAt: Date.now() + ttlMs });
    },
    async delete(key) {
      entries.delete(key);
    },
    async putIfAbsent(key, value, { ttlMs }) {
      if (live(key) !== null) return false;
      entries.set(key, { value, expiresAt: Date.now() + ttlMs });
      return true;
    },
    async compareAndSwap(key, oldValue, newValue, { ttlMs }) {
      if (entries.get(key)?.value !== oldValue) return false;
      entries.set(key, { value: newValue, expiresAt: Date.now() + ttlMs });
      return true;
    },
  };
}

/** The part of a Workers KV namespace binding this adapter uses. */
export interface KvNamespaceLike {
  get(key: string): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
  delete(key: string): Promise<void>;
}

/** Workers KV's limits. */
const KV_MIN_TTL_S = 60;
const KV_MAX_KEY_BYTES = 512;
const KV_MAX_VALUE_BYTES = 25 * 1024 * 1024;

/**
 * A Workers KV namespace. Eventually consistent: another location may not see a record
 * for up to ~60 s, so once-only across locations needs a Durable Object store.
 */
export function workersKvStore(namespace: KvNamespaceLike): Store {
  const encoder = new TextEncoder();
  const checkKey = (key: string) => {
    if (encoder.encode(key).length > KV_MAX_KEY_BYTES) throw new RangeError(`KV key longer than ${KV_MAX_KEY_BYTES} bytes`);
  };
  return {
    consistency: "eventual",
    async get(key) {
      checkKey(key);
      return namespace.get(key);
    },
    async put(key, value, { ttlMs }) {
      checkKey(key);
      if (encoder.encode(value).length > KV_MAX_VALUE_BYTES) throw new RangeError("KV value larger than 25 MiB");
      // KV rejects TTLs under 60 s; the record's own expiry still ends it on time.
      await namespace.put(key, value, { expirationTtl: Math.max(KV_MIN_TTL_S, Math.ceil(ttlMs / 1000)) });
    },
    async delete(key) {
      checkKey(key);
      await namespace.delete(key);
    },
  };
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * A browser's IndexedDB database `name` (one object store, `records`). Strong within one
 * origin; `putIfAbsent` runs in one readwrite transaction, so tabs cannot both claim a key.
 */
export function indexedDbStore(name = "reliable-orchestrator"): Store {
  let opened: Promise<IDBDatabase> | undefined;
  const db = () => {
    opened ??= new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open(name, 1);
      open.onupgradeneeded = () => open.result.createObjectStore("records");
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    return opened;
  };
  const store = async (mode: IDBTransactionMode) => (await db()).transaction("records", mode).objectStore("records");
  type Entry = { value: string; expiresAt: number };
  const isLive = (entry: Entry | undefined): entry is Entry => entry !== undefined && entry.expiresAt > Date.now();
  return {
    consistency: "strong",
    async get(key) {
      const entry = (await request((await store("readonly")).get(key))) as Entry | undefined;
      return isLive(entry) ? entry.value : null;
    },
    async put(key, value, { ttlMs }) {
      await request((await store("readwrite")).put({ value, expiresAt: Date.now() + ttlMs }, key));
    },
    async delete(key) {
      await request((await store("readwrite")).delete(key));
    },
    async putIfAbsent(key, value, { ttlMs }) {
      const records = await store("readwrite");
      const entry = (await request(records.get(key))) as Entry | undefined;
      if (isLive(entry)) return false;
      await request(records.put({ value, expiresAt: Date.now() + ttlMs }, key));
      return true;
    },
    async compareAndSwap(key, oldValue, newValue, { ttlMs }) {
      const records = await store("readwrite");
      const entry = (await request(records.get(key))) as Entry | undefined;
      if (entry?.value !== oldValue) return false;
      await request(records.put({ value: newValue, expiresAt: Date.now() + ttlMs }, key));
      return true;
    },
  };
}
