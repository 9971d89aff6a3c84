// @ts-check
// One upload on screen, the same on the uploader page and in a form widget: its preview, name,
// size, progress, status and buttons, built once, then drawn from its row model. It keeps keyboard
// focus in the row when the pressed button goes away. Only the class names' prefix (a widget's
// live among a host page's own styles), the element and where its message goes differ.

import { formatBytes } from "../core/format.js";
import { ACTIONS } from "../core/states.js";
import { ACTION_LABELS } from "./present.js";

/**
 * @import { Action } from "../core/states.js"
 * @import { AnalysisModel, RowModel } from "./present.js"
 */

/**
 * @typedef {object} Row
 * @property {HTMLElement} element
 * @property {{img: HTMLImageElement, meta: HTMLElement}} preview where the file's preview goes
 * @property {(model: RowModel, id: string | null) => void} draw the whole row
 * @property {(model: RowModel) => void} drawProgress the bar and figures only
 * @property {(model: AnalysisModel) => void} drawAnalysis the server's thumbnail and figures, in
 *   place of the local ones (kept when it has none), and a quiet note when it could not analyse
 */

/**
 * @typedef {object} RowOptions
 * @property {string} name the file's
 * @property {number} size the file's, in bytes
 * @property {(action: Action) => void} onAction runs when one of its buttons is pressed
 * @property {string} [prefix] before every class name ("media-widget-" in a widget)
 * @property {"li" | "div"} [tag] the row's element: an item of the page's list, or a widget's part
 * @property {boolean} [message] false when the upload's message is said elsewhere (a widget's
 *   status line)
 * @property {HTMLElement} [rest] where focus goes when the row shows no button any more (the row)
 */

let made = 0; // ids for aria-labelledby, unique on the page

/**
 * Build the row of a file.
 * @param {Document} doc
 * @param {RowOptions} options
 * @returns {Row}
 */
export function createRow(doc, { name, size, onAction, prefix = "", tag = "li", message = true, rest }) {
  /**
   * An element with the prefixed class names and, optionally, text.
   * @template {keyof HTMLElementTagNameMap} K
   * @param {K} tagName
   * @param {string} names
   * @param {string} [text]
   */
  const make = (tagName, names, text) => {
    const element = doc.createElement(tagName);
    if (names)
      element.className = names
        .split(" ")
        .map((each) => prefix + each)
        .join(" ");
    if (text !== undefined) element.textContent = text;
    return element;
  };

  const element = make(tag, "transfer");
  element.tabIndex = -1; // somewhere for focus to land when the pressed button goes away
  const img = make("img", "preview");
  img.alt = "";
  img.hidden = true;
  const nameText = make("span", "name", name);
  nameText.id = `${prefix}transfer-name-${(made += 1)}`;
  const meta = make("span", "preview-meta");
  meta.hidden = true;
  const details = make("span", "details");
  details.append(make("span", "size", formatBytes(size)), meta);
  const head = make("div", "transfer-head");
  head.append(nameText, details);
  const bar = make("progress", "");
  bar.max = 100;
  bar.value = 0;
  bar.setAttribute("aria-labelledby", nameText.id);
  const percent = make("span", "percent", "0%");
  const rate = make("span", "rate");
  const figures = make("span", "figures");
  figures.append(percent, " ", rate);
  const state = make("span", "state");
  const foot = make("div", "transfer-foot");
  foot.append(figures, state);
  const said = message ? make("p", "message") : null;
  const note = make("p", "note");
  note.hidden = true;
  const actions = make("div", "actions");
  /** @type {Record<Action, HTMLButtonElement>} */
  const buttons = /** @type {Record<Action, HTMLButtonElement>} */ ({});
  for (const action of ACTIONS) {
    // Named by its label and, for screen readers, the file it acts on ("Pause clip.mp4").
    const button = make("button", "button", ACTION_LABELS[action]);
    button.classList.add(action);
    button.type = "button";
    button.dataset.action = action;
    button.hidden = true;
    button.append(make("span", "visually-hidden", ` ${name}`));
    button.addEventListener("click", () => onAction(action));
    actions.append(button);
    buttons[action] = button;
  }
  const body = make("div", "transfer-body");
  body.append(head, bar, foot, ...(said ? [said] : []), note, actions);
  element.append(img, body);

  /** @param {RowModel} model */
  function drawProgress(model) {
    bar.value = model.percent;
    percent.textContent = `${model.percent}%`;
    rate.textContent = model.rate;
  }

  /** @param {AnalysisModel} model */
  function drawAnalysis(model) {
    if (model.image && model.image !== img.src) {
      // The local preview stays until the server's has loaded, and comes back if it cannot.
      const before = img.hidden ? null : img.src;
      const settled = new AbortController();
      const once = { once: true, signal: settled.signal };
      img.addEventListener(
        "load",
        () => {
          settled.abort();
          img.hidden = false;
        },
        once,
      );
      img.addEventListener(
        "error",
        () => {
          settled.abort();
          if (before) img.src = before;
          else img.hidden = true;
        },
        once,
      );
      img.dataset.source = "server"; // a local poster drawn late does not replace it
      img.src = model.image;
    }
    if (model.meta) {
      meta.textContent = model.meta;
      meta.hidden = false;
    }
    note.textContent = model.note;
    note.hidden = !model.note;
  }

  return {
    element,
    preview: { img, meta },
    drawProgress,
    drawAnalysis,
    draw(model, id) {
      element.dataset.status = model.status;
      element.dataset.tone = model.tone;
      if (id) element.dataset.id = id;
      state.textContent = model.words;
      if (said) {
        said.textContent = model.message;
        said.hidden = !model.message;
      }
      bar.hidden = figures.hidden = !model.bar;
      const focused = /** @type {HTMLElement | null} */ (doc.activeElement);
      const hadFocus = focused !== null && focused !== element && element.contains(focused);
      for (const action of ACTIONS) buttons[action].hidden = !model.actions.includes(action);
      // The pressed button may have just been hidden (Pause → Resume; Chromium blurs it at once):
      // keep focus in the row, on the button that took its place.
      if (hadFocus && (focused.hidden || !element.contains(doc.activeElement))) {
        const next = model.actions.length ? buttons[model.actions[0]] : (rest ?? element);
        next.focus();
      }
      drawProgress(model);
    },
  };
}
