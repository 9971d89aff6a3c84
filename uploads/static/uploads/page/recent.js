// @ts-check
// The "My uploads" table: the newest records, each named with a link to the upload's own page, its
// status in words, and for an uploaded picture or video a small preview from its download link.

import { formatBytes } from "../core/format.js";
import { describeError } from "../core/messages.js";
import { recordWords } from "../core/states.js";
import { mediaKind } from "../ui/media.js";

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
 */

/** Make the table's renderer; `refresh()` reloads it, and calls close together share one load. */
export function createRecentList(/** @type {RecentListOptions} */ { body, load, uploadsPage, protocol }) {
  const doc = body.ownerDocument;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @type {Promise<void>} */
  let loading = Promise.resolve();

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
  }

  /** A small preview of an uploaded picture or video (only those have a download link), fetched only when scrolled to; none for audio. */
  function thumbnail(/** @type {MediaRecord} */ record) {
    const kind = mediaKind(record.content_type);
    if (!record.download_url || (kind !== "image" && kind !== "video")) return null;
    /** @type {HTMLImageElement | HTMLVideoElement} */
    let preview;
    if (kind === "image") {
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
    preview.src = record.download_url;
    return preview;
  }

  function draw(/** @type {MediaRecord[]} */ records) {
    if (!records.length) {
      say("Nothing uploaded yet.");
      return;
    }
    body.replaceChildren(
      ...records.map((record) => {
        const row = doc.createElement("tr");
        row.dataset.id = record.id;
        row.dataset.status = record.status;
        const name = cell(row, "file");
        const preview = thumbnail(record);
        if (preview) name.append(preview);
        const link = doc.createElement("a");
        link.href = `${uploadsPage}${record.id}/`;
        link.textContent = record.filename;
        name.append(link);
        cell(row).textContent = formatBytes(record.size);
        cell(row, "status").textContent = recordWords(record.status, protocol);
        cell(row).textContent = record.uploaded_at ? new Date(record.uploaded_at).toLocaleString() : "—";
        return row;
      }),
    );
  }

  async function reload() {
    const table = body.closest("table");
    table?.setAttribute("aria-busy", "true");
    try {
      draw((await load()).results);
    } catch (error) {
      say(`Could not load your uploads: ${describeError(error)}`);
    } finally {
      table?.removeAttribute("aria-busy");
    }
  }

  return {
    /** Reload soon; several uploads finishing together cause a single request. */
    refresh(delayMs = 250) {
      clearTimeout(timer);
      timer = setTimeout(() => {
        loading = loading.then(reload);
      }, delayMs);
    },
  };
}
