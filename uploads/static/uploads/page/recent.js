// @ts-check
// The "My uploads" table: the newest records, each named with a link to the upload's own page, its
// status in words, and for an uploaded picture or video a small preview: the server's thumbnail
// once its analysis made one, else the file itself from its download link. What analysis found
// ("0:10 · 640×360") is said under the name. While a file uploaded lately is still to be analysed,
// the table is loaded again, less and less often, until it is done (a file uploaded long ago whose
// analysis was never asked for is not waited for).

import { analysisOngoing } from "../core/analysis.js";
import { formatBytes } from "../core/format.js";
import { describeError } from "../core/messages.js";
import { recordWords } from "../core/states.js";
import { mediaKind, metadataSummary } from "../ui/media.js";

/**
 * @import { MediaRecord, RecordPage } from "../core/answers.js"
 * @import { Protocol } from "../core/protocol.js"
 */

/**
 * @typedef {object} RecentListOptions
 * @property {HTMLTableSectionElement} body the table's <tbody>
 * @property {() => Promise<RecordPage>} load the newest records
 * @property {string} uploadsPage where an upload's own page lives: `${uploadsPage}${id}/`
 * @property {Protocol} protocol says which records are still open
 * @property {(round: number) => number | null} [followDelay] milliseconds before loading again
 *   (round 0, 1, …) while a file uploaded lately is to be analysed; null: stop
 * @property {() => number} [now] the time, in milliseconds since the epoch
 */

/** How lately a file was uploaded for the list to wait for its analysis. */
const LATELY_MS = 15 * 60 * 1000;

/** While files are analysed: 2 s, 4 s, 8 s, then every 15 s, for about three minutes. */
export function followDelay(/** @type {number} */ round) {
  return round < 14 ? Math.min(15_000, 2000 * 2 ** round) : null;
}

const SAY = Object.freeze({ analysing: "Analysing…" });

/** Make the table's renderer; `refresh()` reloads it, and calls close together share one load. */
export function createRecentList(
  /** @type {RecentListOptions} */ { body, load, uploadsPage, protocol, followDelay: delayOf = followDelay, now = Date.now },
) {
  const doc = body.ownerDocument;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @type {Promise<void>} */
  let loading = Promise.resolve();
  let round = 0; // loads in a row made only to follow analysis
  /**
   * The rows drawn last, by record id, with what they showed: a row that would look the same is
   * kept as it is (its preview is not fetched again on a new signed link).
   * @type {Map<string, {look: string, row: HTMLTableRowElement}>}
   */
  let drawn = new Map();

  /** A cell, with a class when given. */
  const cell = (/** @type {HTMLTableRowElement} */ row, className = "") => {
    const td = doc.createElement("td");
    if (className) td.className = className;
    row.append(td);
    return td;
  };

  function say(/** @type {string} */ text) {
    const row = doc.createElement("tr");
    const td = cell(row);
    td.colSpan = 4;
    td.textContent = text;
    body.replaceChildren(row);
    drawn = new Map();
  }

  /**
   * A small preview of an uploaded picture or video, fetched only when scrolled to: the server's
   * thumbnail when analysis made one, else the file itself from its download link; none for audio.
   */
  function thumbnail(/** @type {MediaRecord} */ record) {
    const kind = mediaKind(record.content_type);
    const url = record.thumbnail_url ?? record.download_url;
    if (!url || (kind !== "image" && kind !== "video")) return null;
    /** @type {HTMLImageElement | HTMLVideoElement} */
    let preview;
    if (record.thumbnail_url || kind === "image") {
      preview = doc.createElement("img");
      preview.alt = ""; // the name beside it says what it is
      preview.loading = "lazy";
    } else {
      preview = doc.createElement("video");
      preview.preload = "metadata";
      preview.muted = true;
      preview.setAttribute("aria-hidden", "true");
    }
    preview.className = "thumb";
    // One the browser cannot show (or whose short-lived link has lapsed) goes, rather than a broken icon.
    preview.addEventListener("error", () => (preview.hidden = true), { once: true });
    preview.src = url;
    return preview;
  }

  /** Tell whether the list waits for a record's analysis: one uploaded lately, still to be analysed. */
  const awaited = (/** @type {MediaRecord} */ record) =>
    analysisOngoing(record) && record.uploaded_at !== null && now() - Date.parse(record.uploaded_at) < LATELY_MS;

  /** What analysis found in words, "Analysing…" while the list waits for it, else "". */
  const facts = (/** @type {MediaRecord} */ record) => (awaited(record) ? SAY.analysing : metadataSummary(record.metadata));

  /** What a record's row shows, but for its signed links (new on every load). */
  const lookOf = (/** @type {MediaRecord} */ record) =>
    JSON.stringify([
      record.filename,
      record.size,
      record.status,
      record.uploaded_at,
      Boolean(record.thumbnail_url),
      Boolean(record.download_url),
      facts(record),
    ]);

  function rowOf(/** @type {MediaRecord} */ record) {
    const row = doc.createElement("tr");
    row.dataset.id = record.id;
    row.dataset.status = record.status;
    row.dataset.analysis = record.analysis.status;
    const name = cell(row, "file");
    const preview = thumbnail(record);
    if (preview) name.append(preview);
    const link = doc.createElement("a");
    link.href = `${uploadsPage}${record.id}/`;
    link.textContent = record.filename;
    name.append(link);
    const said = facts(record);
    if (said) {
      const meta = doc.createElement("span");
      meta.className = "meta";
      meta.textContent = said;
      name.append(meta);
    }
    cell(row).textContent = formatBytes(record.size);
    cell(row, "status").textContent = recordWords(record.status, protocol);
    cell(row).textContent = record.uploaded_at ? new Date(record.uploaded_at).toLocaleString() : "—";
    return row;
  }

  function draw(/** @type {MediaRecord[]} */ records) {
    if (!records.length) {
      say("Nothing uploaded yet.");
      return;
    }
    const before = drawn;
    drawn = new Map();
    for (const record of records) {
      const look = lookOf(record);
      const kept = before.get(record.id);
      drawn.set(record.id, { look, row: kept?.look === look ? kept.row : rowOf(record) });
    }
    body.replaceChildren(...[...drawn.values()].map((entry) => entry.row));
  }

  async function reload() {
    const table = body.closest("table");
    table?.setAttribute("aria-busy", "true");
    try {
      const { results } = await load();
      draw(results);
      const delay = results.some(awaited) ? delayOf(round) : null;
      if (delay !== null) {
        round += 1;
        later(delay);
      }
    } catch (error) {
      say(`Could not load your uploads: ${describeError(error)}`);
    } finally {
      table?.removeAttribute("aria-busy");
    }
  }

  /** Load again in `delayMs`, in place of any load already planned. */
  function later(/** @type {number} */ delayMs) {
    clearTimeout(timer);
    timer = setTimeout(() => {
      loading = loading.then(reload);
    }, delayMs);
  }

  return {
    /** Reload soon; several uploads finishing together cause a single request. */
    refresh(delayMs = 250) {
      round = 0;
      later(delayMs);
    },
  };
}
