// @ts-check
// One upload widget on screen: the elements its template renders (the hidden input, the attached
// file, the picker, Clear, the status line) and the transfer this module adds (the file's
// preview, progress, Pause/Resume/Retry/Cancel), drawn from row models worked out of the core's
// snapshots. It only renders: buttons are handed to `onAction` and `onClear`.

import { formatBytes } from "./format.js";
import { ACTION_LABELS } from "./present.js";
import { ACTIONS } from "./states.js";

/**
 * @import { RowModel } from "./present.js"
 * @import { Action } from "./states.js"
 * @import { Previewer } from "./view.js"
 */

/**
 * The template's elements (uploads/widgets/media_file.html).
 * @typedef {object} WidgetParts
 * @property {HTMLElement} root `[data-media-widget]`
 * @property {HTMLInputElement} input the hidden input the form submits
 * @property {HTMLElement} current the attached file
 * @property {HTMLInputElement} picker the file input
 * @property {HTMLElement | null} pickText the picker's label text
 * @property {HTMLButtonElement | null} clear only for a field that may be left empty
 * @property {HTMLElement} status an aria-live region
 */

/**
 * Find the template's elements in `root`; throws naming the first one missing.
 * @param {HTMLElement} root
 * @returns {WidgetParts}
 */
export function widgetParts(root) {
  /**
   * @template {Element} T
   * @param {string} selector
   * @returns {T}
   */
  const need = (selector) => {
    const element = root.querySelector(selector);
    if (!element) throw new Error(`The upload widget has no ${selector}.`);
    return /** @type {T} */ (element);
  };
  return {
    root,
    input: need('input[type="hidden"]'),
    current: need(".media-widget-current"),
    picker: need(".media-widget-file"),
    pickText: root.querySelector(".media-widget-pick span"),
    clear: root.querySelector(".media-widget-clear"),
    status: need(".media-widget-status"),
  };
}

/** What the picker says with and without an attached file. */
const PICK = Object.freeze({ empty: "Choose a file…", attached: "Replace…" });

let made = 0; // ids for aria-describedby, unique on the page

/**
 * @typedef {object} WidgetView
 * @property {(file: File, options: {preview: boolean}) => void} begin show a new file's transfer
 *   (its preview only when it will be sent)
 * @property {(model: RowModel, id: string | null) => void} draw the transfer and status, whole
 * @property {(model: RowModel) => void} drawProgress the bar and figures only
 * @property {(file: File) => void} attach the transfer's file is now the field's
 * @property {() => void} end stop showing the transfer (its upload was let go)
 * @property {() => void} empty the field has no file
 * @property {(text: string) => void} say a passing word in the status line
 * @property {() => void} dispose release what the previews hold
 */

/**
 * Make the view of the widget whose elements are `parts`.
 * @param {WidgetParts} parts
 * @param {{onAction: (action: Action) => void, onClear: () => void, preview?: Previewer}} options
 * @returns {WidgetView}
 */
export function createWidgetView(parts, { onAction, onClear, preview }) {
  const { root, current, status } = parts;
  const doc = root.ownerDocument;
  /**
   * @template {keyof HTMLElementTagNameMap} K
   * @param {K} tag
   * @param {string} className
   * @param {string} [text]
   */
  const make = (tag, className, text) => {
    const element = doc.createElement(tag);
    element.className = className;
    if (text !== undefined) element.textContent = text;
    return element;
  };

  const key = (made += 1);
  const transfer = make("div", "media-widget-transfer");
  transfer.hidden = true;
  const thumb = make("div", "media-widget-thumb");
  const name = make("span", "media-widget-file-name");
  name.id = `media-widget-${key}-file`;
  const size = make("span", "media-widget-file-size");
  const words = make("span", "media-widget-state");
  const head = make("div", "media-widget-transfer-head");
  head.append(name, " ", size, " ", words);
  const bar = make("progress", "media-widget-bar");
  bar.max = 100;
  bar.value = 0;
  bar.setAttribute("aria-labelledby", name.id);
  const percent = make("span", "media-widget-percent", "0%");
  const rate = make("span", "media-widget-rate");
  const figures = make("div", "media-widget-figures");
  figures.append(percent, " ", rate);
  const actions = make("div", "media-widget-actions");
  /** @type {Record<Action, HTMLButtonElement>} */
  const buttons = /** @type {Record<Action, HTMLButtonElement>} */ ({});
  for (const action of ACTIONS) {
    // Named by its label alone ("Pause"); the file it acts on is its description.
    const button = make("button", `media-widget-action ${action}`, ACTION_LABELS[action]);
    button.type = "button";
    button.dataset.action = action;
    button.hidden = true;
    button.setAttribute("aria-describedby", name.id);
    button.addEventListener("click", () => onAction(action));
    actions.append(button);
    buttons[action] = button;
  }
  const body = make("div", "media-widget-transfer-body");
  body.append(head, bar, figures, actions);
  transfer.append(thumb, body);
  status.before(transfer);
  parts.clear?.addEventListener("click", onClear);

  /** @type {{img: HTMLImageElement, meta: HTMLElement, release: () => void} | null} the transfer's file */
  let shown = null;
  /** @type {(() => void) | null} releases the preview of the attached file, once it is ours */
  let releaseCurrent = null;

  function setAttached(/** @type {boolean} */ attached) {
    if (parts.pickText) parts.pickText.textContent = attached ? PICK.attached : PICK.empty;
    if (parts.clear) parts.clear.hidden = !attached;
  }

  function forgetShown() {
    shown?.release();
    shown = null;
    thumb.replaceChildren();
  }

  /** @param {RowModel} model */
  function drawProgress(model) {
    bar.value = model.percent;
    percent.textContent = `${model.percent}%`;
    rate.textContent = model.rate;
  }

  return {
    begin(file, options) {
      forgetShown();
      const img = make("img", "media-widget-preview");
      img.alt = "";
      img.hidden = true;
      const meta = make("span", "media-widget-meta");
      meta.hidden = true;
      thumb.append(img, meta);
      shown = { img, meta, release: options.preview && preview ? preview(file, { img, meta }).dispose : () => {} };
      name.textContent = file.name;
      size.textContent = formatBytes(file.size);
      transfer.hidden = false;
    },
    draw(model, id) {
      root.dataset.status = model.status;
      root.dataset.tone = model.tone;
      if (id) root.dataset.id = id;
      else delete root.dataset.id;
      words.textContent = model.words;
      // The status line says what happened ("Paused. The parts already sent are kept."), else
      // the status's name; the transfer shows the name too.
      status.textContent = model.message || model.words;
      bar.hidden = figures.hidden = !model.bar;
      const focused = /** @type {HTMLElement | null} */ (doc.activeElement);
      const hadFocus = focused !== null && actions.contains(focused);
      for (const action of ACTIONS) buttons[action].hidden = !model.actions.includes(action);
      // The pressed button may have just been hidden (Pause → Resume): keep focus on the one that
      // took its place, else on the picker.
      if (hadFocus && focused.hidden) (model.actions.length ? buttons[model.actions[0]] : parts.picker).focus();
      drawProgress(model);
    },
    drawProgress,
    attach(file) {
      releaseCurrent?.();
      const { img, meta } = shown ?? { img: null, meta: null };
      releaseCurrent = shown?.release ?? null;
      shown = null;
      thumb.replaceChildren();
      const fileName = make("span", "media-widget-name", file.name);
      const fileSize = make("span", "media-widget-size", formatBytes(file.size));
      // The old file's preview, link and words go: what is shown is what the form will submit.
      current.replaceChildren(...(img && meta ? [img, " "] : []), fileName, " ", fileSize, ...(meta ? [" ", meta] : []));
      current.hidden = false;
      transfer.hidden = true;
      setAttached(true);
    },
    end() {
      forgetShown();
      transfer.hidden = true;
      delete root.dataset.status;
      delete root.dataset.tone;
      delete root.dataset.id;
      words.textContent = "";
      status.textContent = "";
    },
    empty() {
      const hadFocus = parts.clear !== null && doc.activeElement === parts.clear;
      releaseCurrent?.();
      releaseCurrent = null;
      current.replaceChildren();
      current.hidden = true;
      setAttached(false);
      if (hadFocus) parts.picker.focus(); // Clear is gone: focus stays in the widget
    },
    say(text) {
      status.textContent = text;
    },
    dispose() {
      forgetShown();
      releaseCurrent?.();
      releaseCurrent = null;
    },
  };
}
