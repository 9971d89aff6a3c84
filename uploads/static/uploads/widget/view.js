// @ts-check
// One upload widget on screen: the elements its template renders (the hidden input, the attached
// file, the picker, Clear, the status line) and, while a file goes up, its transfer row (the
// page's row, ui/row.js, with the widget's class names). It only renders: buttons are handed to
// `onAction` and `onClear`.

import { formatBytes } from "../core/format.js";
import { createRow } from "../ui/row.js";

/**
 * @import { Action } from "../core/states.js"
 * @import { AnalysisModel, RowModel } from "../ui/present.js"
 * @import { Previewer } from "../ui/preview.js"
 * @import { Row } from "../ui/row.js"
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

/**
 * Where the field's check of the attached file stands, as the widget shows it (its data-check):
 * waiting for the server's verdict, passed, blocked (the field refuses it), or unsure (the widget
 * stopped waiting; saving will tell).
 * @typedef {"waiting" | "passed" | "blocked" | "unsure"} CheckState
 */

/** The tone each check state is shown in (the stylesheet colours tones). */
const CHECK_TONES = Object.freeze({ waiting: "working", passed: "ok", blocked: "bad", unsure: "quiet" });

/** What the picker says with and without an attached file. */
const PICK = Object.freeze({ empty: "Choose a file…", attached: "Replace…" });

/** The widget's prefix on the row's class names: a host page's styles never reach it. */
const PREFIX = "media-widget-";

/**
 * @typedef {object} WidgetView
 * @property {(file: File, options: {preview: boolean}) => void} begin show a new file's transfer
 *   (its preview only when it will be sent)
 * @property {(model: RowModel, id: string | null) => void} draw the transfer and status, whole
 * @property {(model: RowModel) => void} drawProgress the bar and figures only
 * @property {(file: File) => void} attach the transfer's file is now the field's
 * @property {(state: CheckState, text: string) => void} check say whether the field takes the
 *   attached file (the server's verdict), or that it is still checking
 * @property {(model: AnalysisModel) => void} analysed show the server's thumbnail and figures of
 *   the attached file in place of the local ones
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
  parts.clear?.addEventListener("click", onClear);

  /** @type {{row: Row, release: () => void} | null} the file going up */
  let shown = null;
  /** @type {(() => void) | null} releases the preview of the attached file, once it is ours */
  let releaseCurrent = null;
  /** @type {Row | null} the row whose preview the attached file shows */
  let attachedRow = null;

  function setAttached(/** @type {boolean} */ attached) {
    if (parts.pickText) parts.pickText.textContent = attached ? PICK.attached : PICK.empty;
    if (parts.clear) parts.clear.hidden = !attached;
  }

  /** Take the transfer row away; `keep` leaves its preview to whoever took it. */
  function forgetShown({ keep = false } = {}) {
    if (!keep) shown?.release();
    shown?.row.element.remove();
    shown = null;
  }

  return {
    begin(file, options) {
      forgetShown();
      const row = createRow(doc, {
        name: file.name,
        size: file.size,
        onAction,
        prefix: PREFIX,
        tag: "div",
        message: false,
        rest: parts.picker,
      });
      status.before(row.element);
      shown = { row, release: options.preview && preview ? preview(file, row.preview).dispose : () => {} };
    },
    draw(model, id) {
      shown?.row.draw(model, id);
      root.dataset.status = model.status;
      root.dataset.tone = model.tone;
      if (id) root.dataset.id = id;
      else delete root.dataset.id;
      // The status line says what happened ("Paused. The parts already sent are kept."), else
      // the status's name; the row shows the name too.
      status.textContent = model.message || model.words;
    },
    drawProgress(model) {
      shown?.row.drawProgress(model);
    },
    attach(file) {
      releaseCurrent?.();
      releaseCurrent = shown?.release ?? null;
      const { img, meta } = shown?.row.preview ?? { img: null, meta: null };
      attachedRow = shown?.row ?? null;
      forgetShown({ keep: true });
      const fileName = Object.assign(doc.createElement("span"), { className: `${PREFIX}name`, textContent: file.name });
      const fileSize = Object.assign(doc.createElement("span"), { className: `${PREFIX}size`, textContent: formatBytes(file.size) });
      // The old file's preview, link and words go: what is shown is what the form will submit.
      current.replaceChildren(...(img && meta ? [img, " "] : []), fileName, " ", fileSize, ...(meta ? [" ", meta] : []));
      current.hidden = false;
      setAttached(true);
    },
    check(state, text) {
      root.dataset.check = state;
      root.dataset.tone = CHECK_TONES[state];
      status.textContent = text;
    },
    analysed(model) {
      attachedRow?.drawAnalysis(model);
    },
    end() {
      forgetShown();
      delete root.dataset.check;
      delete root.dataset.status;
      delete root.dataset.tone;
      delete root.dataset.id;
      status.textContent = "";
    },
    empty() {
      const hadFocus = parts.clear !== null && doc.activeElement === parts.clear;
      releaseCurrent?.();
      releaseCurrent = null;
      attachedRow = null;
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
