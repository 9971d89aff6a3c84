// @ts-check
// Finding the record a large file was already going up as, after a reload or a crash: a memory of
// it kept in the storage given (the browser's local storage), else the server's list of uploads
// still waiting for their file.

import { closedStatus, isAbort, refusesResume } from "./errors.js";

/** @import { ApiClient } from "./api.js" */
/** @import { MediaRecord, PartListing } from "./answers.js" */
/** @import { Claims } from "./claims.js" */
/** @import { Protocol } from "./protocol.js" */

/** @typedef {{name: string, size: number, lastModified?: number, type: string}} FileIdentity */

/**
 * @typedef {object} ResumeStore
 * @property {(file: FileIdentity) => string | null} get the record id remembered for this file
 * @property {(file: FileIdentity, id: string) => void} remember
 * @property {(file: FileIdentity, id: string) => void} forget forget it, if it still names `id`
 */

/** @typedef {Pick<Storage, "getItem" | "setItem">} StorageLike */

/** A request made through the upload's retries; resolves with its answer. */
/** @typedef {<T>(request: (signal?: AbortSignal) => Promise<T>, signal?: AbortSignal) => Promise<T>} Caller */

const STORE_KEY = "mediaupload.resume.v1";
const DAY_MS = 24 * 3600 * 1000;

/** Identify a picked file by what the browser tells us about it (its bytes are not read). */
export function fingerprint(/** @type {FileIdentity} */ file) {
  return JSON.stringify([file.name, file.size, file.lastModified ?? 0, (file.type || "").toLowerCase()]);
}

/**
 * Remember fingerprint → record id in `storage` (the browser's local storage; null when there is
 * none or it is refused: then in memory for this page's life). Entries older than `maxAgeMs` are dropped; at most
 * `maxEntries` are kept, newest first.
 * @param {StorageLike | null} storage
 * @param {{maxEntries?: number, maxAgeMs?: number, now?: () => number}} [options]
 * @returns {ResumeStore}
 */
export function createResumeStore(storage, { maxEntries = 50, maxAgeMs = 7 * DAY_MS, now = Date.now } = {}) {
  /** @typedef {Record<string, {id: string, savedAt: number}>} Entries */
  /** @type {Entries} */
  let memory = {};
  /** @returns {entry is {id: string, savedAt: number}} */
  const fresh = (/** @type {{id?: unknown, savedAt?: unknown} | undefined} */ entry) =>
    typeof entry?.id === "string" && typeof entry.savedAt === "number" && now() - entry.savedAt < maxAgeMs;

  /** @returns {Entries} */
  const load = () => {
    if (!storage) return { ...memory };
    try {
      const parsed = JSON.parse(storage.getItem(STORE_KEY) || "{}");
      return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : {};
    } catch {
      return {}; // a corrupt or unreadable entry is worth nothing: start over
    }
  };
  const save = (/** @type {Entries} */ entries) => {
    const kept = Object.entries(entries)
      .filter(([, entry]) => fresh(entry))
      .sort(([, a], [, b]) => b.savedAt - a.savedAt)
      .slice(0, maxEntries);
    memory = Object.fromEntries(kept);
    if (!storage) return;
    try {
      storage.setItem(STORE_KEY, JSON.stringify(memory));
    } catch {
      // Quota or privacy mode: resuming after a reload falls back to the server's pending list.
    }
  };

  return {
    get(file) {
      const entry = load()[fingerprint(file)];
      return fresh(entry) ? entry.id : null;
    },
    remember(file, id) {
      save({ ...load(), [fingerprint(file)]: { id, savedAt: now() } });
    },
    forget(file, id) {
      const entries = load();
      // Another upload of the same file may have remembered its own record since.
      if (entries[fingerprint(file)]?.id !== id) return;
      delete entries[fingerprint(file)];
      save(entries);
    },
  };
}

/**
 * Pick the open multipart record this file most likely belongs to: same name, size and type,
 * newest first, skipping records another upload holds.
 * @param {FileIdentity} file
 * @param {readonly MediaRecord[]} records
 * @param {Protocol} protocol
 * @param {{has: (id: string) => boolean}} [held]
 */
export function chooseRecord(file, records, protocol, held = { has: () => false }) {
  const type = (file.type || "").toLowerCase();
  const matches = records.filter(
    (record) =>
      !protocol.isFinal(record.status) &&
      record.upload_method === "multipart" &&
      record.filename === file.name &&
      record.size === file.size &&
      record.content_type === type &&
      !held.has(record.id),
  );
  matches.sort((a, b) => b.created_at.localeCompare(a.created_at));
  return matches[0] ?? null;
}

/**
 * @typedef {object} ResumeDeps
 * @property {ApiClient} api
 * @property {ResumeStore} store
 * @property {Claims} claims
 * @property {Protocol} protocol
 * @property {object} holder who claims the record found
 * @property {Caller} call
 */

/**
 * Find an open multipart record for `file` and what storage already holds of it; the record is
 * claimed for `deps.holder`. Null: nothing to resume, start a new upload.
 * @param {FileIdentity} file
 * @param {ResumeDeps} deps
 * @param {AbortSignal} signal
 * @returns {Promise<{record: MediaRecord, listing: PartListing} | null>}
 */
export async function findResumable(file, deps, signal) {
  const { api, store, claims, holder, call } = deps;
  const record = (await rememberedRecord(file, deps, signal)) ?? (await pendingRecord(file, deps, signal));
  if (!record) return null;
  try {
    return { record, listing: await call((s) => api.listParts(record.id, s), signal) };
  } catch (error) {
    claims.release(record.id, holder);
    if (!refusesResume(error)) throw error;
    store.forget(file, record.id); // it finished, expired or was cancelled in the meantime
    return null;
  }
}

/** The record remembered for the file, if it is still an open multipart upload. */
async function rememberedRecord(/** @type {FileIdentity} */ file, /** @type {ResumeDeps} */ deps, /** @type {AbortSignal} */ signal) {
  const { api, store, claims, protocol, holder, call } = deps;
  const id = store.get(file);
  if (!id || !claims.take(id, holder)) return null;
  /** @type {MediaRecord | null} */
  let record = null;
  try {
    record = await call((s) => api.get(id, s), signal);
  } catch (error) {
    if (closedStatus(error, protocol) !== "gone") {
      claims.release(id, holder);
      throw error;
    }
  }
  if (record && !protocol.isFinal(record.status) && record.upload_method === "multipart") return record;
  claims.release(id, holder);
  store.forget(file, id);
  return null;
}

/** The newest matching record in the server's list of open ones (the memory was cleared, or is another browser's). */
async function pendingRecord(/** @type {FileIdentity} */ file, /** @type {ResumeDeps} */ deps, /** @type {AbortSignal} */ signal) {
  const { api, claims, protocol, holder, call } = deps;
  const page = await call((s) => api.listPending(s), signal).catch((error) => {
    if (isAbort(error)) throw error;
    return null; // only a convenience: any trouble here means a fresh upload
  });
  const record = chooseRecord(file, page?.results ?? [], protocol, claims);
  return record && claims.take(record.id, holder) ? record : null;
}
