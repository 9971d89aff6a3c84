// The uploader page: pick a file → create its record → POST it to S3 → ask the server to verify it.

import { createApi } from "./api.js";
import { formatBytes, percent } from "./format.js";
import { postFile } from "./transfer.js";

const config = JSON.parse(document.getElementById("uploader-config").textContent);
const api = createApi({ base: config.api, csrfToken: config.csrfToken });

const input = document.getElementById("file-input");
const transfers = document.getElementById("transfers");
const announcer = document.getElementById("announcer");
const recent = document.getElementById("recent-uploads");

/** Say something to screen-reader users without moving focus. */
function announce(text) {
  announcer.textContent = text;
}

/** Build one file's row: name, size, progress bar and status in words. */
function createRow(file) {
  const row = document.createElement("div");
  row.className = "transfer";
  row.dataset.status = "queued";
  row.innerHTML = `
    <div class="transfer-head"><span class="name"></span><span class="size"></span></div>
    <progress max="100" value="0"></progress>
    <div class="transfer-foot"><span class="percent">0%</span> <span class="message" role="status"></span></div>`;
  row.querySelector(".name").textContent = file.name;
  row.querySelector(".size").textContent = formatBytes(file.size);
  transfers.prepend(row);
  return {
    element: row,
    setStatus(status, message) {
      row.dataset.status = status;
      row.querySelector(".message").textContent = message;
    },
    setProgress(loaded, total) {
      const value = percent(loaded, total);
      row.querySelector("progress").value = value;
      row.querySelector(".percent").textContent = `${value}%`;
    },
  };
}

/** Upload one file end to end and show each step on its row. */
async function upload(file) {
  const row = createRow(file);
  try {
    row.setStatus("creating", "Preparing…");
    const record = await api.create(file);
    row.element.dataset.id = record.id;
    row.setStatus("uploading", "Uploading…");
    await postFile({ ...record.upload, file, onProgress: (loaded, total) => row.setProgress(loaded, total) });
    row.setStatus("verifying", "Verifying…");
    const done = await api.complete(record.id);
    row.setStatus(done.status, "Uploaded.");
    announce(`${file.name} uploaded.`);
  } catch (error) {
    const status = error.body?.status ?? "failed";
    row.setStatus(status, error.message);
    announce(`${file.name}: ${error.message}`);
  } finally {
    refreshRecent();
  }
}

/** Draw the user's recent uploads with their status and download links. */
async function refreshRecent() {
  let page;
  try {
    page = await api.list();
  } catch (error) {
    recent.innerHTML = "";
    recent.insertRow().insertCell().textContent = `Could not load your uploads: ${error.message}`;
    return;
  }
  recent.innerHTML = "";
  if (!page.results.length) {
    const cell = recent.insertRow().insertCell();
    cell.colSpan = 4;
    cell.textContent = "Nothing uploaded yet.";
  }
  for (const item of page.results) {
    const row = recent.insertRow();
    row.dataset.id = item.id;
    row.dataset.status = item.status;
    const name = row.insertCell();
    if (item.download_url) {
      const link = document.createElement("a");
      link.href = item.download_url;
      link.textContent = item.filename;
      name.append(link);
    } else {
      name.textContent = item.filename;
    }
    row.insertCell().textContent = formatBytes(item.size);
    row.insertCell().textContent = item.status;
    row.insertCell().textContent = item.uploaded_at ? new Date(item.uploaded_at).toLocaleString() : "—";
  }
}

input.addEventListener("change", () => {
  for (const file of input.files) upload(file);
  input.value = "";
});

refreshRecent();
