// The "My uploads" table: the newest records with their status and, once uploaded, a download link.

import { formatBytes } from "./format.js";
import { statusText } from "./messages.js";

/** Make the table body's renderer; `refresh()` reloads it, and calls close together share one load. */
export function createRecentList({ body, load }) {
  let timer = 0;
  let loading = null;

  function message(text) {
    body.innerHTML = "";
    const cell = body.insertRow().insertCell();
    cell.colSpan = 4;
    cell.textContent = text;
  }

  function draw(records) {
    body.innerHTML = "";
    if (!records.length) {
      message("Nothing uploaded yet.");
      return;
    }
    for (const item of records) {
      const row = body.insertRow();
      row.dataset.id = item.id;
      row.dataset.status = item.status;
      const name = row.insertCell();
      name.className = "file";
      if (item.download_url) {
        const link = document.createElement("a");
        link.href = item.download_url;
        link.textContent = item.filename;
        name.append(link);
      } else {
        name.textContent = item.filename;
      }
      row.insertCell().textContent = formatBytes(item.size);
      const status = row.insertCell();
      status.className = "status";
      status.textContent = statusText(item.status);
      row.insertCell().textContent = item.uploaded_at ? new Date(item.uploaded_at).toLocaleString() : "—";
    }
  }

  async function reload() {
    body.closest("table")?.setAttribute("aria-busy", "true");
    try {
      const page = await load();
      draw(page.results ?? []);
    } catch (error) {
      message(`Could not load your uploads: ${error.message}`);
    } finally {
      body.closest("table")?.removeAttribute("aria-busy");
    }
  }

  return {
    /** Reload soon; several uploads finishing together cause a single request. */
    refresh(delayMs = 250) {
      clearTimeout(timer);
      timer = setTimeout(() => {
        loading = (loading ?? Promise.resolve()).then(reload);
      }, delayMs);
    },
  };
}
