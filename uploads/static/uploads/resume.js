// Finding the record a large file was already going up as, after a reload or a crash.

const STORE_KEY = "mediaupload.resume.v1";
const DAY_MS = 24 * 3600 * 1000;

/** Identify a picked file by what the browser tells us about it (its bytes are not read). */
export function fingerprint(file) {
  return JSON.stringify([file.name, file.size, file.lastModified ?? 0, (file.type || "").toLowerCase()]);
}

/**
 * Remember fingerprint → record id in `storage` (localStorage, or null when the browser refuses it).
 * Entries older than `maxAgeMs` are dropped; at most `maxEntries` are kept, newest first.
 */
export function createResumeStore(storage, { maxEntries = 50, maxAgeMs = 7 * DAY_MS, now = Date.now } = {}) {
  let memory = {};

  const load = () => {
    if (!storage) return memory;
    try {
      const parsed = JSON.parse(storage.getItem(STORE_KEY) || "{}");
      return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : {};
    } catch {
      return {}; // a corrupt or unreadable entry is worth nothing: start over
    }
  };
  const save = (entries) => {
    const kept = Object.entries(entries)
      .filter(([, entry]) => entry && typeof entry.id === "string" && now() - entry.savedAt < maxAgeMs)
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
    /** The record id remembered for this file, or null. */
    get(file) {
      const entry = load()[fingerprint(file)];
      return entry && typeof entry.id === "string" && now() - entry.savedAt < maxAgeMs ? entry.id : null;
    },
    /** Remember that this file goes up as record `id`. */
    remember(file, id) {
      save({ ...load(), [fingerprint(file)]: { id, savedAt: now() } });
    },
    /** Forget the record of this file (finished, cancelled or gone). */
    forget(file) {
      const entries = load();
      delete entries[fingerprint(file)];
      save(entries);
    },
  };
}

/**
 * Pick the pending multipart record this file most likely belongs to: same name, size and type,
 * newest first, skipping records the page is already uploading (`busy` ids).
 */
export function chooseRecord(file, records, { busy = new Set() } = {}) {
  const type = (file.type || "").toLowerCase();
  const matches = records.filter(
    (record) =>
      record.status === "pending" &&
      (record.upload_method ?? "multipart") === "multipart" &&
      record.filename === file.name &&
      record.size === file.size &&
      record.content_type === type &&
      !busy.has(record.id),
  );
  matches.sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
  return matches[0] ?? null;
}
