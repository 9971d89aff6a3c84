// @ts-check
// The upload widget of a MediaFilesField: several files, in order. Files picked or dropped
// together go up through the same uploader core as the one-file widget (widgetUploader), each in
// the page's transfer row, and each one the server accepts becomes an item holding its signed
// value in a hidden input named as the field: the form submits them in the list's order. Items move
// with their Up and Down buttons or Alt+ArrowUp/Down (focus stays on the moved item, and the move is
// announced), and go with Remove. The server's most-files rule (data-max-files, in its own words,
// data-too-many) refuses a batch that would pass it before anything is uploaded.

import { fieldChecking } from "../core/analysis.js";
import { STATES } from "../core/states.js";
import { bindDropZone } from "../ui/dropzone.js";
import { onceAFrame } from "../ui/frames.js";
import { rowModel } from "../ui/present.js";
import { createRow } from "../ui/row.js";
import { widgetUploader } from "./field.js";
import { formGuard } from "./form.js";
import { SAY_LIST, keyStep, moveTarget, readFileCount, refusal } from "./order.js";

/**
 * @import { MediaRecord } from "../core/answers.js"
 * @import { Upload } from "../core/upload.js"
 * @import { Change } from "../core/upload-status.js"
 * @import { Row } from "../ui/row.js"
 * @import { FieldWidget, WidgetDeps } from "./field.js"
 */

/**
 * One item of the list: its element, its file's name and, for a file uploaded here, its upload,
 * row and what to let go of when it is removed.
 * @typedef {object} Item
 * @property {HTMLLIElement} li
 * @property {string} name
 * @property {Upload | null} upload
 * @property {Row | null} row
 * @property {() => void} stop stop following the upload
 * @property {() => void} release let go of the preview
 * @property {AbortController | null} checking while the field's verdict is awaited
 */

const SAY = Object.freeze({
  attached: "Uploaded. Save the form to keep it.",
  wait: "Wait for the uploads to finish, or cancel them, before saving.",
  checking: "Uploaded. Checking…",
  refused: "This file cannot be used here.",
  checkLater: "Still being checked: saving the form will say whether this file can be used.",
  up: "Up",
  down: "Down",
  remove: "Remove",
});

/**
 * Bind the list widget at `root`; throws (a ConfigError, or naming a missing element) when it cannot work.
 * @param {HTMLElement} root
 * @param {WidgetDeps} deps
 * @returns {FieldWidget}
 */
export function createListWidget(root, deps) {
  const doc = root.ownerDocument;
  /** @template {Element} T @param {string} selector @returns {T} */
  const need = (selector) => {
    const element = root.querySelector(selector);
    if (!element) throw new Error(`The upload list widget has no ${selector}.`);
    return /** @type {T} */ (element);
  };
  /** @type {HTMLInputElement} */
  const nameInput = need("input.media-list-name");
  /** @type {HTMLOListElement} */
  const list = need(".media-list-items");
  /** @type {HTMLInputElement} */
  const picker = need(".media-widget-file");
  /** @type {HTMLElement} */
  const status = need(".media-widget-status");
  const form = nameInput.form ?? /** @type {HTMLFormElement | null} */ (root.closest("form"));
  const { uploader, followCheck } = widgetUploader(root, form, deps);
  const guard = form ? formGuard(form) : null;
  const rule = readFileCount(root.dataset);
  /** @type {Map<HTMLLIElement, Item>} */
  const items = new Map();

  const say = (/** @type {string} */ text) => {
    status.textContent = text;
  };
  const underWay = (/** @type {Item} */ item) => Boolean(item.upload && STATES[item.upload.snapshot.status].ongoing);
  const listed = () => /** @type {HTMLLIElement[]} */ ([...list.querySelectorAll(":scope > .media-list-item")]);

  /** A button of an item, labelled with the file's name for screen readers. */
  function button(/** @type {string} */ className, /** @type {string} */ text, /** @type {string} */ label) {
    const element = doc.createElement("button");
    element.type = "button";
    element.className = `media-widget-button ${className}`;
    element.textContent = text;
    element.setAttribute("aria-label", label);
    return element;
  }

  /** Give an item its Up, Down and Remove buttons, and remember it. */
  function adopt(/** @type {HTMLLIElement} */ li, /** @type {Partial<Item>} */ extra = {}) {
    const name = extra.name ?? li.querySelector(".media-widget-name")?.textContent ?? "";
    const up = button("media-list-up", SAY.up, SAY_LIST.up(name));
    const down = button("media-list-down", SAY.down, SAY_LIST.down(name));
    const remove = button("media-list-remove", SAY.remove, SAY_LIST.remove(name));
    up.addEventListener("click", () => move(li, -1, up));
    down.addEventListener("click", () => move(li, 1, down));
    remove.addEventListener("click", () => drop(li));
    const controls = doc.createElement("div");
    controls.className = "media-list-controls";
    controls.append(up, down, remove);
    li.append(controls);
    /** @type {Item} */
    const item = { li, name, upload: null, row: null, stop: () => {}, release: () => {}, checking: null, ...extra };
    items.set(li, item);
    return item;
  }

  /** Move an item by `step`; the control that asked keeps focus, and the move is said. */
  function move(/** @type {HTMLLIElement} */ li, /** @type {number} */ step, /** @type {HTMLElement} */ focus) {
    const all = listed();
    const to = moveTarget(all.indexOf(li), step, all.length);
    const name = items.get(li)?.name ?? "";
    if (to === null) return say(SAY_LIST.atEnd(name, step));
    if (step < 0) all[to].before(li);
    else all[to].after(li);
    focus.focus(); // moving a node drops its focus: it stays on the moved item
    say(SAY_LIST.moved(name, to, all.length));
  }

  /** Take an item out of the list (its upload cancelled if still going); focus stays in the list. */
  function drop(/** @type {HTMLLIElement} */ li) {
    const item = items.get(li);
    if (item) letGo(item);
    const next = /** @type {HTMLElement | null} */ (li.nextElementSibling ?? li.previousElementSibling);
    li.remove();
    items.delete(li);
    /** @type {HTMLElement | null} */
    const nextRemove = next?.querySelector(".media-list-remove") ?? null;
    (nextRemove ?? picker).focus();
    say(SAY_LIST.removed(item?.name ?? ""));
  }

  function letGo(/** @type {Item} */ item) {
    item.stop();
    item.checking?.abort();
    item.release();
    guard?.release(item);
    if (item.upload?.can("cancel")) void item.upload.cancel();
  }

  /** Take picked or dropped files: all of them, or none when they would pass the most-files rule. */
  function take(/** @type {File[]} */ files) {
    const held = listed().filter((li) => li.dataset.failed !== "true").length;
    const why = refusal(rule, held, files.length);
    if (why) {
      root.dataset.refused = "true";
      return say(why);
    }
    delete root.dataset.refused;
    for (const upload of uploader.add(files)) follow(upload);
  }

  /** Show a new upload as an item; once uploaded, the item holds its signed value. */
  function follow(/** @type {Upload} */ upload) {
    const li = doc.createElement("li");
    li.className = "media-list-item";
    li.tabIndex = -1;
    const row = createRow(doc, {
      name: upload.file.name,
      size: upload.file.size,
      onAction: (action) => upload.perform(action),
      prefix: "media-widget-",
      tag: "div",
      rest: li,
    });
    li.append(row.element);
    list.append(li);
    const shows = STATES[upload.snapshot.status].counted && deps.preview;
    const release = shows && deps.preview ? deps.preview(upload.file, row.preview).dispose : () => {};
    const item = adopt(li, { name: upload.file.name, upload, row, release });
    const drawProgress = onceAFrame(deps.frame, () => row.drawProgress(rowModel(upload.snapshot)));
    item.stop = upload.subscribe((_, change) => render(item, change, drawProgress));
    render(item, "status", drawProgress);
  }

  function render(/** @type {Item} */ item, /** @type {Change} */ change, /** @type {() => void} */ drawProgress) {
    if (!item.upload || !item.row) return;
    if (change === "progress") return drawProgress();
    const snapshot = item.upload.snapshot;
    item.row.draw(rowModel(snapshot), snapshot.id);
    item.li.dataset.status = snapshot.status;
    const state = STATES[snapshot.status];
    if (state.done && snapshot.field_value && !item.li.querySelector(`input[name="${nameInput.name}"]`)) {
      const input = doc.createElement("input");
      input.type = "hidden";
      input.name = nameInput.name;
      input.value = snapshot.field_value;
      item.li.prepend(input);
      delete item.li.dataset.failed;
      say(SAY.attached);
      if (snapshot.record) void check(item, snapshot.record);
    } else if (!state.ongoing && !snapshot.field_value) {
      item.li.dataset.failed = "true"; // takes no place in the count: it submits nothing
    }
    if (underWay(item)) guard?.hold(item, () => say(SAY.wait));
    else guard?.release(item);
  }

  /** Say whether the field takes an uploaded file, as the server says, asking again while it checks. */
  async function check(/** @type {Item} */ item, /** @type {MediaRecord} */ record) {
    verdict(item, record);
    if (!fieldChecking(record)) return;
    const controller = new AbortController();
    item.checking = controller;
    try {
      const { record: latest, settled } = await followCheck(record, controller.signal);
      if (settled) verdict(item, latest);
      else note(item, "unsure", SAY.checkLater);
    } catch {
      // Stopped: the item was removed.
    }
  }

  function verdict(/** @type {Item} */ item, /** @type {MediaRecord} */ record) {
    const found = record.field_check;
    if (!found) return;
    if (!found.final) note(item, "waiting", SAY.checking);
    else if (found.refused) note(item, "blocked", found.message || SAY.refused);
    else note(item, "passed", SAY.attached);
  }

  function note(/** @type {Item} */ item, /** @type {string} */ state, /** @type {string} */ text) {
    item.li.dataset.check = state;
    let line = item.li.querySelector(".media-list-check");
    if (!line) {
      line = doc.createElement("p");
      line.className = "media-list-check";
      item.li.querySelector(".media-list-controls")?.before(line);
    }
    line.textContent = text;
  }

  list.addEventListener("keydown", (event) => {
    const step = keyStep(event);
    const target = /** @type {HTMLElement} */ (event.target);
    const li = /** @type {HTMLLIElement | null} */ (target.closest?.(".media-list-item") ?? null);
    if (!step || !li || !items.has(li)) return;
    event.preventDefault();
    move(li, step, target);
  });
  for (const li of listed()) adopt(li);
  const unbindDrops = bindDropZone({ zone: root, input: picker, onFiles: take });

  root.dataset.name = nameInput.name || root.dataset.name || "";
  root.dataset.ready = "true";
  return {
    root,
    busy: () => [...items.values()].some(underWay),
    dispose() {
      for (const item of items.values()) letGo(item);
      unbindDrops();
    },
  };
}
