// Model forms with upload widgets on the fake DOM, built as uploads/widgets/media_file.html renders
// them, bound by widget/page.js to the fake server, with retries that do not wait.
import { createResumeStore } from "../../../uploads/static/uploads/core/resume.js";
import { retryPolicy } from "../../../uploads/static/uploads/core/retry.js";
import { bindWidgets } from "../../../uploads/static/uploads/widget/page.js";
import { fakeDocument, now } from "./fake-dom.mjs";
import { tick } from "./fake-server.mjs";
import { PROTOCOL_TABLE } from "./protocol.mjs";

/**
 * @import { Clock } from "../../../uploads/static/uploads/core/clock.js"
 * @import { ResumeStore } from "../../../uploads/static/uploads/core/resume.js"
 * @import { Previewer } from "../../../uploads/static/uploads/ui/preview.js"
 * @import { PageWidgets } from "../../../uploads/static/uploads/widget/page.js"
 * @import { FakeDocumentView, FakeNode } from "./fake-dom.mjs"
 * @import { FakeServer } from "./fake-server.mjs"
 */

/**
 * One widget's markup: its name, its field's config, the hidden input's value (a record id when
 * the object has a file, which `record` then describes); a field that is not `required` has a
 * Clear button.
 * @typedef {{name?: string, config?: Record<string, unknown>, value?: string, record?: {filename: string} | null,
 *   required?: boolean}} WidgetOptions
 */

/** A request the API was sent: its method, URL, JSON body and headers. */
/** @typedef {{method: string, url: string, body: any, headers: Record<string, string>}} LoggedRequest */

/** A field's config as client_config() renders it: parts above 10 bytes, two at a time. */
export const widgetConfig = (/** @type {Record<string, unknown>} */ overrides = {}) => ({
  api: "/api/media/",
  maxBytes: 1024,
  allowedTypes: ["video/*"],
  acceptedSummary: "video",
  multipartThreshold: 10,
  parallelParts: 2,
  parallelFiles: 2,
  policyExpires: 60,
  uploadsPage: "/uploads/",
  field: "demo.episode.video",
  protocol: PROTOCOL_TABLE,
  ...overrides,
});

/**
 * An element of `doc` with a class and properties.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {FakeDocumentView} doc
 * @param {K} tag
 * @param {Record<string, unknown>} [props]
 */
function make(doc, tag, className = "", props = {}) {
  const element = doc.createElement(tag);
  element.className = className;
  return Object.assign(element, props);
}

/** One widget's markup (see WidgetOptions). */
export function widgetMarkup(
  /** @type {FakeDocumentView} */ doc,
  /** @type {WidgetOptions} */ { name = "video", config = widgetConfig(), value = "", record = null, required = false } = {},
) {
  const root = make(doc, "div", "media-widget");
  root.dataset.mediaWidget = "";
  root.dataset.config = JSON.stringify(config);
  root.dataset.name = name;
  const input = make(doc, "input", "", { type: "hidden", name, value, id: `id_${name}` });
  const current = make(doc, "div", "media-widget-current", { hidden: !record });
  if (record) {
    current.append(
      make(doc, "img", "media-widget-preview", { src: "https://s3.test/old.png" }),
      make(doc, "span", "media-widget-name", { textContent: record.filename }),
      make(doc, "span", "media-widget-size", { textContent: "1 KB" }),
      make(doc, "a", "media-widget-download", { href: "https://s3.test/old", textContent: "Download" }),
    );
  }
  const upload = make(doc, "div", "media-widget-upload");
  const label = make(doc, "label", "media-widget-pick");
  label.append(make(doc, "span", "", { textContent: record ? "Replace…" : "Choose a file…" }));
  label.append(make(doc, "input", "media-widget-file", { type: "file", accept: String(config.allowedTypes) }));
  upload.append(label);
  if (!required) upload.append(make(doc, "button", "media-widget-clear", { type: "button", hidden: !record, textContent: "Clear" }));
  upload.append(make(doc, "p", "media-widget-limits", { textContent: "Accepted: video. Up to 1.0 KB." }));
  upload.append(make(doc, "div", "media-widget-status"));
  root.append(input, current, upload);
  return root;
}

/**
 * A change form holding `widgets` (each the options of widgetMarkup), its CSRF token and the
 * admin's submit buttons; `bind: false` leaves binding to the test.
 * @param {{server: FakeServer, widgets?: WidgetOptions[], csrf?: string, bind?: boolean,
 *   fetch?: typeof globalThis.fetch, preview?: Previewer, clock?: Clock}} options
 */
export function formPage({ widgets = [{}], csrf = "form-token", bind = true, fetch, server, preview, clock }) {
  const doc = fakeDocument();
  const form = make(doc, "form", "", { id: "episode_form" });
  doc.body.append(form);
  if (csrf) form.append(make(doc, "input", "", { type: "hidden", name: "csrfmiddlewaretoken", value: csrf }));
  const title = make(doc, "input", "", { type: "text", name: "title" });
  form.append(title);
  const roots = widgets.map((options) => widgetMarkup(doc, options));
  form.append(...roots);
  const save = make(doc, "input", "default", { type: "submit", name: "_save", value: "Save" });
  const again = make(doc, "input", "", { type: "submit", name: "_addanother", value: "Save and add another" });
  const keepEditing = make(doc, "button", "", { name: "_continue", textContent: "Save and continue editing" });
  const submitRow = make(doc, "div", "submit-row");
  submitRow.append(save, again, keepEditing);
  form.append(submitRow);
  /** @type {{doc: FakeDocumentView, form: FakeNode, roots: FakeNode[], submits: FakeNode[], widgets: PageWidgets | null}} */
  const page = { doc, form, roots, submits: [save, again, keepEditing], widgets: null };
  if (bind) page.widgets = bindPage(doc, { server, fetch, preview, clock });
  return page;
}

/**
 * Bind the page's widgets to `server` (requests through `fetch` when given).
 * @param {FakeDocumentView} doc
 * @param {{server: FakeServer, fetch?: typeof globalThis.fetch, preview?: Previewer, store?: ResumeStore,
 *   clock?: Clock}} options
 */
export function bindPage(doc, { server, fetch = server.fetch, preview, store = createResumeStore(null), clock }) {
  return bindWidgets(doc, {
    fetch,
    senders: () => ({ postForm: server.postForm, putPart: server.putPart }),
    store,
    preview,
    retry: retryPolicy({ wait: async (ms, signal) => signal?.throwIfAborted() }),
    frame: now,
    clock,
  });
}

/** Pick `file` in the widget's file input, as a person does. */
export function pick(/** @type {FakeNode} */ root, /** @type {File} */ file) {
  const input = root.find("input.media-widget-file");
  input.files = [file];
  input.dispatchEvent(new Event("change"));
}

/** Drop `files` on `target` (bubbling up to the widget, the document and the window). */
export function drop(/** @type {FakeNode} */ target, /** @type {File[]} */ files) {
  const dataTransfer = { types: ["Files"], files, dropEffect: "none" };
  const event = Object.assign(new Event("drop", { bubbles: true, cancelable: true }), { dataTransfer });
  target.dispatchEvent(event);
  return event;
}

/** Whether an element is shown: neither it nor anything it is in is hidden. */
export function shown(/** @type {HTMLElement} */ element) {
  for (let at = /** @type {HTMLElement | null} */ (element); at; at = at.parentElement) if (at.hidden) return false;
  return true;
}

/** The widget's button with this visible label ("Pause", "Clear"…); throws unless it is shown. */
export function button(/** @type {FakeNode} */ root, /** @type {string} */ label) {
  const found = root.findAll("button").find((element) => shown(element) && element.ownText === label);
  if (!found) throw new Error(`The widget shows no ${label} button, only: ${shownButtons(root).join(", ")}.`);
  return found;
}

/** The widget's buttons shown now, by visible label. */
export const shownButtons = (/** @type {FakeNode} */ root) =>
  root
    .findAll("button")
    .filter(shown)
    .map((element) => element.ownText);

/** What the widget's status line says. */
export const statusText = (/** @type {FakeNode} */ root) => root.find(".media-widget-status").textContent.trim();

/**
 * Resolve once the widget's data-status is one of `statuses` (fails after many turns).
 * @param {FakeNode} root
 * @param {...string} statuses
 */
export async function untilStatus(root, ...statuses) {
  for (let turn = 0; turn < 500; turn += 1) {
    const status = root.dataset.status;
    if (status !== undefined && statuses.includes(status)) return status;
    await tick();
  }
  throw new Error(`The widget stayed ${root.dataset.status}, never ${statuses.join(" or ")}: ${statusText(root)}`);
}

/** Submit the form as the browser would (the event is cancelable); true when it went through. */
export function submit(/** @type {FakeNode} */ form) {
  const event = new Event("submit", { bubbles: true, cancelable: true });
  form.dispatchEvent(event);
  return !event.defaultPrevented;
}

/** A fetch over the server's that logs each request's method, path and JSON body. */
export function loggingFetch(/** @type {FakeServer} */ server) {
  /** @type {LoggedRequest[]} */
  const requests = [];
  /** @type {typeof globalThis.fetch} */
  const fetch = (url, init = {}) => {
    const body = typeof init.body === "string" ? JSON.parse(init.body) : undefined;
    const headers = /** @type {Record<string, string>} */ (init.headers ?? {});
    requests.push({ method: init.method ?? "GET", url: String(url), body, headers });
    return server.fetch(url, init);
  };
  return { fetch, requests };
}
