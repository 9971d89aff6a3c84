// @ts-check
// One upload widget of a model form. The field's file goes up through the uploader core, as on
// the page and with the same states, but with the field's own limits (checked before any
// request) and a create naming the field (so the server applies them before signing). The
// complete/ that finds the file uploaded answers the signed value that attaches it, and that goes
// into the hidden input the form submits. A field whose limits bound what analysis finds (a
// duration, a picture size) says "checking" until the server's worker has analysed the file: the
// widget asks again, less and less often, until the field accepts or refuses it, and shows the
// server's verdict (its rule, never worked out here). Picking another file replaces the one
// before (an upload still going is cancelled); Clear empties the field. While an upload is under
// way the form is kept from submitting.

import { fieldChecking, followRecord } from "../core/analysis.js";
import { createApi } from "../core/api.js";
import { ConfigError, readConfig } from "../core/config.js";
import { STATES } from "../core/states.js";
import { createUploader } from "../core/uploader.js";
import { bindDropZone } from "../ui/dropzone.js";
import { onceAFrame } from "../ui/frames.js";
import { analysisModel, rowModel } from "../ui/present.js";
import { formGuard } from "./form.js";
import { createWidgetView, widgetParts } from "./view.js";

/**
 * @import { MediaRecord } from "../core/answers.js"
 * @import { Claims } from "../core/claims.js"
 * @import { Clock } from "../core/clock.js"
 * @import { UploaderConfig } from "../core/config.js"
 * @import { Connectivity } from "../core/connectivity.js"
 * @import { Protocol } from "../core/protocol.js"
 * @import { Queue } from "../core/queue.js"
 * @import { ResumeStore } from "../core/resume.js"
 * @import { RetryPolicy } from "../core/retry.js"
 * @import { FormSender, PutSender } from "../core/transfer.js"
 * @import { Upload } from "../core/upload.js"
 * @import { Change } from "../core/upload-status.js"
 * @import { Frame } from "../ui/frames.js"
 * @import { Previewer } from "../ui/preview.js"
 */

/** The senders to storage, reading its refusals by a widget's protocol. */
/** @typedef {(protocol: Protocol) => {postForm: FormSender, putPart: PutSender}} Senders */

/**
 * What a widget works with; the widgets of a page share them (widget/page.js).
 * @typedef {object} WidgetDeps
 * @property {typeof globalThis.fetch} fetch
 * @property {Senders} senders
 * @property {ResumeStore} store
 * @property {Claims} claims one record per upload, across the page
 * @property {(config: UploaderConfig) => Queue} queue the page's queue (parallelFiles for the page)
 * @property {Clock} clock
 * @property {Connectivity} connectivity
 * @property {RetryPolicy} retry
 * @property {Frame} frame
 * @property {Previewer} [preview]
 */

/**
 * @typedef {object} FieldWidget
 * @property {HTMLElement} root
 * @property {() => boolean} busy an upload is under way (or paused): leaving would lose it
 * @property {() => void} dispose let the upload go (cancelled) and the form too: its row is gone
 */

/**
 * The widget's upload, how to stop following it, and, while its field's check is awaited, how to
 * stop waiting.
 * @typedef {{upload: Upload, stop: () => void, attached: boolean, checking: AbortController | null}} Entry
 */

const SAY = Object.freeze({
  attached: "Uploaded. Save the form to keep it.",
  notAttached: "It was not attached to this field.",
  cleared: "No file: saving leaves this field empty.",
  wait: "Wait for the upload to finish, or cancel it, before saving.",
  oneFile: "Drop one file: this field takes a single file.",
  checking: "Uploaded. Checking…",
  refused: "This file cannot be used here.",
  checkLater: "Still being checked: saving the form will say whether this file can be used.",
});

/** How long the widget waits for its field's verdict: looks 0.5 s apart, then up to 2 s, for 2 minutes. */
const CHECK = Object.freeze({ first: 500, most: 2000, within: 120_000 });

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
 * The uploader of the widget at `root`, for the field its config names, and how it follows the
 * field's verdict on a file (the one widget and the list widget alike); throws a ConfigError when
 * the config cannot work.
 * @param {HTMLElement} root
 * @param {HTMLFormElement | null} form
 * @param {WidgetDeps} deps
 */
export function widgetUploader(root, form, deps) {
  const config = readConfig(JSON.parse(root.dataset.config || "null"));
  if (!config.field) throw new ConfigError(["field must name the model field the widget uploads for."]);
  const { protocol } = config;
  const token = config.csrfToken || csrfToken(form, root.ownerDocument);
  const api = createApi({ base: config.api, csrfToken: token, protocol, fetch: deps.fetch, field: config.field });
  const uploader = createUploader({
    config,
    api,
    ...deps.senders(protocol),
    store: deps.store,
    clock: deps.clock,
    connectivity: deps.connectivity,
    retry: deps.retry,
    claims: deps.claims,
    queue: deps.queue(config),
  });
  /**
   * Ask for a record again, less and less often, until the field's verdict is final or the wait
   * (CHECK) ends; `signal` stops it.
   * @param {MediaRecord} record
   * @param {AbortSignal} signal
   */
  const followCheck = (record, signal) =>
    followRecord(record, {
      get: (stop) => api.get(record.id, stop),
      waiting: fieldChecking,
      clock: deps.clock,
      signal,
      ...CHECK,
    });
  return { uploader, followCheck };
}

/**
 * Bind the widget at `root`; throws (a ConfigError, or naming a missing element) when it cannot work.
 * @param {HTMLElement} root
 * @param {WidgetDeps} deps
 * @returns {FieldWidget}
 */
export function createFieldWidget(root, deps) {
  const parts = widgetParts(root);
  const form = parts.input.form ?? /** @type {HTMLFormElement | null} */ (root.closest("form"));
  const { uploader, followCheck } = widgetUploader(root, form, deps);
  const guard = form ? formGuard(form) : null;
  const view = createWidgetView(parts, { onAction: (action) => current?.upload.perform(action), onClear: clear, preview: deps.preview });
  const unbindDrops = bindDropZone({ zone: root, input: parts.picker, onFiles: take });
  /** @type {Entry | null} */
  let current = null;
  const drawProgress = onceAFrame(deps.frame, () => {
    if (current) view.drawProgress(rowModel(current.upload.snapshot));
  });

  /** Tell whether the form must wait for this upload: it is not over (moving, or paused). */
  const underWay = (/** @type {Entry} */ entry) => STATES[entry.upload.snapshot.status].ongoing;

  /** Show the upload's change; once it is uploaded, attach it with the value complete/ gave. */
  function render(/** @type {Entry} */ entry, /** @type {Change} */ change) {
    if (entry !== current) return;
    if (change === "progress") return drawProgress();
    const snapshot = entry.upload.snapshot;
    const model = rowModel(snapshot);
    if (STATES[snapshot.status].done) {
      // What is said is what the form will submit: this file, or still the value from before.
      const words = snapshot.field_value ? SAY.attached : [snapshot.message, SAY.notAttached].filter(Boolean).join(" ");
      view.draw({ ...model, message: words }, snapshot.id);
      if (snapshot.field_value && !entry.attached) {
        entry.attached = true;
        setValue(snapshot.field_value);
        view.attach(entry.upload.file);
        if (snapshot.record) void check(entry, snapshot.record);
      }
    } else {
      view.draw(model, snapshot.id);
    }
    if (underWay(entry)) guard?.hold(entry, () => view.say(SAY.wait));
    else guard?.release(entry);
  }

  /**
   * Show whether the field takes the attached file, as the server says; while it is still
   * checking (its analysis is not done), ask again until it says.
   */
  async function check(/** @type {Entry} */ entry, /** @type {MediaRecord} */ record) {
    showCheck(record);
    if (!fieldChecking(record)) return;
    const controller = new AbortController();
    entry.checking = controller;
    try {
      const { record: latest, settled } = await followCheck(record, controller.signal);
      if (entry !== current) return;
      if (settled) showCheck(latest);
      else view.check("unsure", SAY.checkLater);
    } catch {
      // Stopped: the file was replaced or cleared.
    } finally {
      if (entry.checking === controller) entry.checking = null;
    }
  }

  /** Say the field's verdict on the attached record (nothing for a record made for no field). */
  function showCheck(/** @type {MediaRecord} */ record) {
    const verdict = record.field_check;
    if (!verdict) return;
    if (!verdict.final) return view.check("waiting", SAY.checking);
    // What the server found is shown either way: it tells why a file is refused.
    view.analysed(analysisModel(record));
    if (verdict.refused) view.check("blocked", verdict.message || SAY.refused);
    else view.check("passed", SAY.attached);
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
    const entry = { upload, stop: () => {}, attached: false, checking: null };
    current = entry;
    view.begin(upload.file, { preview: STATES[upload.snapshot.status].counted });
    entry.stop = upload.subscribe((snapshot, change) => render(entry, change));
    render(entry, "status");
  }

  /** Stop following the widget's upload; one still going is cancelled (its record discarded). */
  function letGo() {
    const entry = current;
    if (!entry) return;
    current = null;
    entry.stop();
    entry.checking?.abort();
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
