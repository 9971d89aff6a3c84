// @ts-check
// The uploader page: reads the server's config, builds the uploader core with the browser's own
// collaborators, and lets the views render it. The only module that touches the page on load.

import { createApi } from "./api.js";
import { readConfig } from "./config.js";
import { bindDropZone } from "./dropzone.js";
import { createPreviewer } from "./preview.js";
import { createRecentList } from "./recent.js";
import { browserStorage, createResumeStore } from "./resume.js";
import { STATES } from "./states.js";
import { createXhrSenders } from "./transfer.js";
import { createUploader } from "./uploader-core.js";
import { createTransferView } from "./view.js";

/**
 * @import { Upload } from "./upload.js"
 * @import { TransferViewOptions } from "./view.js"
 */

/** The page's view of its uploads, whose buttons act on them. */
/** @typedef {TransferViewOptions<Upload>} PageViewOptions */

/**
 * The page's element with this id.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
function byId(id, type) {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`The page has no ${type.name} #${id}.`);
  return element;
}

/**
 * The element matching `selector` inside `root`.
 * @template {Element} T
 * @param {Element} root
 * @param {string} selector
 * @param {new () => T} type
 * @returns {T}
 */
function within(root, selector, type) {
  const element = root.querySelector(selector);
  if (!(element instanceof type)) throw new Error(`The page has no ${type.name} ${selector} in #${root.id}.`);
  return element;
}

const root = byId("uploader", HTMLElement);
let config;
try {
  config = readConfig(JSON.parse(byId("uploader-config", HTMLScriptElement).textContent || "null"));
} catch (error) {
  // Said on the page rather than half-working: the server's settings need fixing.
  byId("uploader-problem", HTMLElement).hidden = false;
  byId("uploader-problem", HTMLElement).textContent = error instanceof Error ? error.message : String(error);
  throw error;
}

const api = createApi({ base: config.api, csrfToken: config.csrfToken });
const uploader = createUploader({ config, api, ...createXhrSenders(), store: createResumeStore(browserStorage()) });
const recent = createRecentList({
  body: byId("recent-uploads", HTMLTableSectionElement),
  load: () => api.list(10),
  uploadsPage: config.uploadsPage,
});
const overall = byId("overall", HTMLElement);
/** @type {PageViewOptions} */
const viewOptions = {
  list: byId("transfers", HTMLElement),
  overall: {
    box: overall,
    bar: within(overall, "progress", HTMLProgressElement),
    text: within(overall, ".overall-text", HTMLElement),
  },
  announcer: byId("announcer", HTMLElement),
  onAction: (upload, action) => upload.perform(action),
  preview: createPreviewer({ document }),
};
const view = createTransferView(viewOptions);

uploader.onAdd((upload) => {
  view.add(upload);
  // Once an upload stops moving, its record may read differently in "My uploads".
  upload.subscribe((snapshot, change) => {
    if (change === "status" && snapshot.id && !STATES[snapshot.status].busy) recent.refresh();
  });
});

bindDropZone({
  zone: byId("dropzone", HTMLElement),
  input: byId("file-input", HTMLInputElement),
  onFiles: (files) => uploader.add(files),
});

// Leaving mid-upload loses a small file's progress (large ones resume when picked again).
window.addEventListener("beforeunload", (event) => {
  if (!uploader.busy()) return;
  event.preventDefault();
  event.returnValue = ""; // older browsers ask only when this is set
});

recent.refresh(0);
root.dataset.ready = "true";
