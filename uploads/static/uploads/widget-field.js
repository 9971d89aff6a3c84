// @ts-check
// One upload widget of a model form. The field's file goes up through the uploader core, as on
// the page, but with the field's own limits (checked before any request) and a create naming the
// field (so the server applies them before signing). Once the core says the file is uploaded, the
// server gives the signed value that attaches it, and that goes into the hidden input the form
// submits. Picking another file replaces the one before (an upload still going is cancelled);
// Clear empties the field. While an upload is under way the form is kept from submitting.

import { createApi } from "./api.js";
import { ConfigError, readConfig } from "./config.js";
import { bindDropZone } from "./dropzone.js";
import { isAbort } from "./errors.js";
import { describeFailure } from "./messages.js";
import { rowModel } from "./present.js";
import { withRetry } from "./retry.js";
import { STATES } from "./states.js";
import { createUploader } from "./uploader-core.js";
import { formGuard } from "./widget-form.js";
import { createWidgetView, widgetParts } from "./widget-view.js";

/**
 * @import { Claims } from "./claims.js"
 * @import { Clock } from "./clock.js"
 * @import { UploaderConfig } from "./config.js"
 * @import { Connectivity } from "./connectivity.js"
 * @import { Queue } from "./queue.js"
 * @import { ResumeStore } from "./resume.js"
 * @import { RetryPolicy } from "./retry.js"
 * @import { Action } from "./states.js"
 * @import { FormSender, PutSender } from "./transfer.js"
 * @import { Upload } from "./upload.js"
 * @import { UploadSnapshot } from "./upload-status.js"
 * @import { Previewer } from "./view.js"
 */

/**
 * What a widget works with; the widgets of a page share them (widget-page.js).
 * @typedef {object} WidgetDeps
 * @property {typeof globalThis.fetch} fetch
 * @property {FormSender} postForm
 * @property {PutSender} putPart
 * @property {ResumeStore} store
 * @property {Claims} claims one record per upload, across the page
 * @property {(config: UploaderConfig) => Queue} queue the page's queue (parallelFiles for the page)
 * @property {Clock} clock
 * @property {Connectivity} connectivity
 * @property {RetryPolicy} retry
 * @property {(callback: () => void) => unknown} frame requestAnimationFrame, unless a test gives its own
 * @property {Previewer} [preview]
 */

/**
 * @typedef {object} FieldWidget
 * @property {HTMLElement} root
 * @property {() => boolean} busy an upload is under way (or paused): leaving would lose it
 * @property {() => void} dispose let the upload go (cancelled) and the form too: its row is gone
 */

/**
 * Where the attaching stands once the core says "uploaded": asking the server for the field's
 * value, done (the value is in the hidden input), or refused.
 * @typedef {"none" | "asking" | "done" | "failed"} Attaching
 */

/**
 * @typedef {object} Entry the widget's upload
 * @property {Upload} upload
 * @property {() => void} stop unsubscribe
 * @property {Attaching} attaching
 * @property {string} problem why attaching failed
 * @property {AbortController | null} asking
 * @property {boolean} cancelled the person pressed Cancel: a file that finished first is not attached
 * @property {boolean} progressDue
 */

const SAY = Object.freeze({
  attached: "Uploaded. Save the form to keep it.",
  cleared: "No file: saving leaves this field empty.",
  wait: "Wait for the upload to finish, or cancel it, before saving.",
  oneFile: "Drop one file: this field takes a single file.",
  notAttached: "It finished before it could be cancelled, and was not attached.",
});

/**
 * The CSRF token of the form the widget is in, else Django's cookie ("" if neither).
 * @param {HTMLFormElement | null} form
 * @param {Document} doc
 */
export function csrfToken(form, doc) {
  const field = /** @type {HTMLInputElement | null} */ (form?.querySelector('input[name="csrfmiddlewaretoken"]') ?? null);
  if (field?.value) return field.value;
  const cookie = /(?:^|;\s*)csrftoken=([^;]*)/.exec(doc.cookie || "");
  return cookie ? decodeURIComponent(cookie[1]) : "";
}

/**
 * Bind the widget at `root`; throws (a ConfigError, or naming a missing element) when it cannot work.
 * @param {HTMLElement} root
 * @param {WidgetDeps} deps
 * @returns {FieldWidget}
 */
export function createFieldWidget(root, deps) {
  const parts = widgetParts(root);
  const config = readConfig(JSON.parse(root.dataset.config || "null"));
  if (!config.field) throw new ConfigError(["field must name the model field the widget uploads for."]);
  const doc = root.ownerDocument;
  const form = parts.input.form ?? /** @type {HTMLFormElement | null} */ (root.closest("form"));
  const api = createApi({ base: config.api, csrfToken: config.csrfToken || csrfToken(form, doc), fetch: deps.fetch, field: config.field });
  const uploader = createUploader({
    config,
    api,
    postForm: deps.postForm,
    putPart: deps.putPart,
    store: deps.store,
    clock: deps.clock,
    connectivity: deps.connectivity,
    retry: deps.retry,
    claims: deps.claims,
    queue: deps.queue(config),
  });
  const guard = form ? formGuard(form) : null;
  const view = createWidgetView(parts, { onAction: act, onClear: clear, preview: deps.preview });
  const unbindDrops = bindDropZone({ zone: root, input: parts.picker, onFiles: take });
  /** @type {Entry | null} */
  let current = null;

  /**
   * What the widget shows of its upload: the core's snapshot, with the attaching after "uploaded".
   * @param {Entry} entry
   * @returns {UploadSnapshot}
   */
  function shown(entry) {
    const snapshot = entry.upload.snapshot;
    if (snapshot.status !== "uploaded") return snapshot;
    if (entry.cancelled) return { ...snapshot, status: "aborted", message: SAY.notAttached };
    if (entry.attaching === "done") return { ...snapshot, message: SAY.attached };
    if (entry.attaching === "failed") return { ...snapshot, status: "failed", message: entry.problem, recordOpen: false };
    return { ...snapshot, status: "verifying", message: "" }; // still the server's word to wait for
  }

  /** Tell whether the form must wait for this upload: it moves, is paused, or is being attached. */
  function underWay(/** @type {Entry} */ entry) {
    const { status } = entry.upload.snapshot;
    return STATES[status].busy || status === "paused" || entry.attaching === "asking";
  }

  function render(/** @type {Entry} */ entry, /** @type {"status" | "detail" | "progress"} */ change) {
    if (entry !== current) return;
    if (change === "progress") {
      // Progress comes many times a second; draw at most once per frame.
      if (entry.progressDue) return;
      entry.progressDue = true;
      deps.frame(() => {
        entry.progressDue = false;
        if (entry === current) view.drawProgress(rowModel(shown(entry)));
      });
      return;
    }
    const snapshot = shown(entry);
    view.draw(rowModel(snapshot), snapshot.id);
    if (underWay(entry)) guard?.hold(entry, () => view.say(SAY.wait));
    else guard?.release(entry);
  }

  /** Take a picked or dropped file: it replaces whatever the widget was uploading. */
  function take(/** @type {File[]} */ files) {
    if (files.length !== 1) {
      view.say(SAY.oneFile);
      return;
    }
    letGo();
    const [upload] = uploader.add(files); // refused at once when it breaks the field's limits
    /** @type {Entry} */
    const entry = { upload, stop: () => {}, attaching: "none", problem: "", asking: null, cancelled: false, progressDue: false };
    current = entry;
    view.begin(upload.file, { preview: STATES[upload.snapshot.status].counted });
    entry.stop = upload.subscribe((snapshot, change) => {
      if (change === "status" && snapshot.status === "uploaded" && !entry.cancelled) void attach(entry);
      render(entry, change);
    });
    render(entry, "status");
  }

  /** Ask the server for the field's value naming the uploaded record, and put it in the form. */
  async function attach(/** @type {Entry} */ entry) {
    const id = entry.upload.snapshot.id;
    if (!id || entry.attaching === "asking" || entry.attaching === "done") return;
    const asking = new AbortController();
    entry.attaching = "asking";
    entry.problem = "";
    entry.asking = asking;
    render(entry, "status");
    try {
      const value = await withRetry(() => api.fieldValue(id, config.field, asking.signal), {
        policy: deps.retry,
        signal: asking.signal,
      });
      if (entry !== current) return;
      setValue(value);
      entry.attaching = "done";
      view.attach(entry.upload.file);
    } catch (error) {
      if (entry !== current || isAbort(error)) return;
      entry.attaching = "failed";
      entry.problem = describeFailure(error);
    }
    render(entry, "status");
  }

  function act(/** @type {Action} */ action) {
    const entry = current;
    if (!entry) return;
    if (action === "retry" && entry.attaching === "failed") return void attach(entry);
    if (action === "cancel") entry.cancelled = true;
    entry.upload.perform(action);
  }

  /** Stop following the widget's upload; one still going is cancelled (its record discarded). */
  function letGo() {
    const entry = current;
    if (!entry) return;
    current = null;
    entry.stop();
    entry.asking?.abort();
    guard?.release(entry);
    if (entry.upload.can("cancel")) void entry.upload.cancel();
    view.end();
  }

  function clear() {
    letGo();
    setValue("");
    view.empty();
    view.say(SAY.cleared);
  }

  function setValue(/** @type {string} */ value) {
    parts.input.value = value;
    parts.input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  root.dataset.name = parts.input.name || root.dataset.name || "";
  root.dataset.ready = "true";
  return {
    root,
    busy: () => Boolean(current && underWay(current)),
    dispose() {
      letGo();
      view.dispose();
      unbindDrops();
    },
  };
}
