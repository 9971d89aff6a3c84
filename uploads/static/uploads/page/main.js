// @ts-check
// The uploader page: reads the server's config, builds the uploader core with the browser's own
// collaborators, and lets the views render it.

import { analysisOngoing, followRecord } from "../core/analysis.js";
import { createApi } from "../core/api.js";
import { systemClock } from "../core/clock.js";
import { readConfig } from "../core/config.js";
import { createResumeStore } from "../core/resume.js";
import { STATES } from "../core/states.js";
import { createXhrSenders } from "../core/transfer.js";
import { createUploader } from "../core/uploader.js";
import { animationFrames, browserConnectivity, browserStorage, keepOpenWhileBusy } from "../ui/browser.js";
import { bindDropZone } from "../ui/dropzone.js";
import { createPreviewer } from "../ui/preview.js";
import { createRecentList } from "./recent.js";
import { createTransferView } from "./view.js";

/**
 * @import { MediaRecord } from "../core/answers.js"
 * @import { Upload } from "../core/upload.js"
 * @import { TransferViewOptions } from "./view.js"
 */

/** The page's view of its uploads, whose buttons act on them. */
/** @typedef {TransferViewOptions<Upload>} PageViewOptions */

/**
 * The element with this id.
 * @template {HTMLElement} T
 * @param {Document} doc
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
function byId(doc, id, type) {
  const element = doc.getElementById(id);
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

/** Wire up the uploader page shown in `win`. */
export function startUploaderPage(/** @type {Window & typeof globalThis} */ win) {
  const doc = win.document;
  const { HTMLElement, HTMLInputElement, HTMLProgressElement, HTMLScriptElement, HTMLTableSectionElement } = win;
  const root = byId(doc, "uploader", HTMLElement);
  let config;
  try {
    config = readConfig(JSON.parse(byId(doc, "uploader-config", HTMLScriptElement).textContent || "null"));
  } catch (error) {
    // Said on the page rather than half-working: the server's settings need fixing.
    const problem = byId(doc, "uploader-problem", HTMLElement);
    problem.hidden = false;
    problem.textContent = error instanceof Error ? error.message : String(error);
    throw error;
  }

  const { protocol } = config;
  const api = createApi({ base: config.api, csrfToken: config.csrfToken, protocol });
  const uploader = createUploader({
    config,
    api,
    ...createXhrSenders({ protocol }),
    store: createResumeStore(browserStorage(win)),
    connectivity: browserConnectivity(win),
  });
  const recent = createRecentList({
    body: byId(doc, "recent-uploads", HTMLTableSectionElement),
    load: () => api.list(10),
    uploadsPage: config.uploadsPage,
    protocol,
  });
  const overall = byId(doc, "overall", HTMLElement);
  /** @type {PageViewOptions} */
  const viewOptions = {
    list: byId(doc, "transfers", HTMLElement),
    overall: {
      box: overall,
      bar: within(overall, "progress", HTMLProgressElement),
      text: within(overall, ".overall-text", HTMLElement),
    },
    announcer: byId(doc, "announcer", HTMLElement),
    onAction: (upload, action) => upload.perform(action),
    frame: animationFrames(win),
    preview: createPreviewer({ document: doc }),
  };
  const view = createTransferView(viewOptions);

  /**
   * Once a file is uploaded, the server analyses it: its row keeps the local preview until the
   * server's thumbnail and figures come (asked for less and less often, for two minutes at most).
   * @param {Upload} upload
   * @param {MediaRecord} record complete/'s answer
   */
  async function showAnalysis(upload, record) {
    view.analysed(upload, record);
    if (!analysisOngoing(record)) return;
    const followed = await followRecord(record, {
      get: (signal) => api.get(record.id, signal),
      waiting: analysisOngoing,
      clock: systemClock,
      first: 1000,
      most: 5000,
      onRecord: (latest) => view.analysed(upload, latest),
    }).catch(() => null);
    if (followed?.settled) recent.refresh(); // "My uploads" shows the thumbnail too
  }

  uploader.onAdd((upload) => {
    view.add(upload);
    upload.subscribe((snapshot, change) => {
      if (change !== "status") return;
      // Once an upload stops moving, its record may read differently in "My uploads".
      if (snapshot.id && !STATES[snapshot.status].busy) recent.refresh();
      if (STATES[snapshot.status].done && snapshot.record) void showAnalysis(upload, snapshot.record);
    });
  });

  bindDropZone({
    zone: byId(doc, "dropzone", HTMLElement),
    input: byId(doc, "file-input", HTMLInputElement),
    onFiles: (files) => uploader.add(files),
  });
  keepOpenWhileBusy(win, uploader.busy);

  recent.refresh(0);
  root.dataset.ready = "true";
}
