// Model forms with upload widgets on the fake DOM, built as uploads/widgets/media_file.html renders
// them, bound by widget-page.js to the fake server, with retries that do not wait.
import { createResumeStore } from "../../../uploads/static/uploads/resume.js";
import { retryPolicy } from "../../../uploads/static/uploads/retry.js";
import { bindWidgets } from "../../../uploads/static/uploads/widget-page.js";
import { fakeDocument, now } from "./fake-dom.mjs";
import { tick } from "./fake-server.mjs";

/** A field's config as client_config() renders it: parts above 10 bytes, two at a time. */
export const widgetConfig = (overrides = {}) => ({
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
  ...overrides,
});

function make(doc, tag, className = "", props = {}) {
  const element = doc.createElement(tag);
  element.className = className;
  return Object.assign(element, props);
}

/**
 * One widget's markup. `value` is the hidden input's (a record id when the object has a file, which
 * `record` then describes); a field that is not `required` has a Clear button.
 */
export function widgetMarkup(doc, { name = "video", config = widgetConfig(), value = "", record = null, required = false } = {}) {
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
  label.append(make(doc, "input", "media-widget-file", { type: "file", accept: config.allowedTypes.join(",") }));
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
 */
export function formPage({ widgets = [{}], csrf = "form-token", bind = true, fetch, server, preview } = {}) {
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
  const page = { doc, form, roots, submits: [save, again, keepEditing], widgets: null };
  if (bind) page.widgets = bindPage(doc, { server, fetch, preview });
  return page;
}

/** Bind the page's widgets to `server` (requests through `fetch` when given). */
export function bindPage(doc, { server, fetch = server.fetch, preview, store = createResumeStore(null) }) {
  return bindWidgets(doc, {
    fetch,
    postForm: server.postForm,
    putPart: server.putPart,
    store,
    preview,
    retry: retryPolicy({ wait: async (ms, signal) => signal?.throwIfAborted() }),
    frame: now,
  });
}

/** Pick `file` in the widget's file input, as a person does. */
export function pick(root, file) {
  const input = root.querySelector(".media-widget-file");
  input.files = [file];
  input.dispatchEvent(new Event("change"));
}

/** Drop `files` on `target` (bubbling up to the widget, the document and the window). */
export function drop(target, files) {
  const event = new Event("drop", { bubbles: true, cancelable: true });
  event.dataTransfer = { types: ["Files"], files, dropEffect: "none" };
  target.dispatchEvent(event);
  return event;
}

/** Whether an element is shown: neither it nor anything it is in is hidden. */
export function shown(element) {
  for (let at = element; at; at = at.parentElement) if (at.hidden) return false;
  return true;
}

/** The widget's button with this visible name ("Pause", "Clear"…), if shown. */
export function button(root, name) {
  return root.findAll("button").find((element) => shown(element) && element.textContent === name) ?? null;
}

/** The widget's buttons shown now, by name. */
export const shownButtons = (root) => root.findAll("button").filter(shown).map((element) => element.textContent);

/** What the widget's status line says. */
export const statusText = (root) => root.find(".media-widget-status").textContent.trim();

/** Resolve once the widget's data-status is one of `statuses` (fails after many turns). */
export async function untilStatus(root, ...statuses) {
  for (let turn = 0; turn < 500; turn += 1) {
    if (statuses.includes(root.dataset.status)) return root.dataset.status;
    await tick();
  }
  throw new Error(`The widget stayed ${root.dataset.status}, never ${statuses.join(" or ")}: ${statusText(root)}`);
}

/** Submit the form as the browser would (the event is cancelable); true when it went through. */
export function submit(form) {
  const event = new Event("submit", { bubbles: true, cancelable: true });
  form.dispatchEvent(event);
  return !event.defaultPrevented;
}

/** A fetch over the server's that logs each request's method, path and JSON body. */
export function loggingFetch(server) {
  const requests = [];
  const fetch = (url, init = {}) => {
    requests.push({ method: init.method ?? "GET", url, body: init.body ? JSON.parse(init.body) : undefined, headers: init.headers });
    return server.fetch(url, init);
  };
  return { fetch, requests };
}
