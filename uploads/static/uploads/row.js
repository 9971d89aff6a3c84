// @ts-check
// One upload's row on screen: built once, then drawn from its row model. It keeps keyboard focus
// in the row when the pressed button goes away.

import { formatBytes } from "./format.js";
import { ACTION_LABELS } from "./present.js";
import { ACTIONS } from "./states.js";

/**
 * @import { RowModel } from "./present.js"
 * @import { Action } from "./states.js"
 */

/**
 * @typedef {object} Row
 * @property {HTMLLIElement} element
 * @property {{img: HTMLImageElement, meta: HTMLElement}} preview where the preview goes
 * @property {(model: RowModel, id: string | null) => void} draw the whole row
 * @property {(model: RowModel) => void} drawProgress the bar and figures only
 */

/**
 * Make an element with a class and, optionally, text.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {Document} doc
 * @param {K} tag
 * @param {string} [className]
 * @param {string} [text]
 */
function make(doc, tag, className, text) {
  const element = doc.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

/**
 * Build the row of a file; `onAction(action)` runs when one of its buttons is pressed.
 * @param {Document} doc
 * @param {{name: string, size: number, key: string, onAction: (action: Action) => void}} file
 * @returns {Row}
 */
export function createRow(doc, { name, size, key, onAction }) {
  const element = make(doc, "li", "transfer");
  element.tabIndex = -1; // somewhere for focus to land when the pressed button goes away
  const img = make(doc, "img", "preview");
  img.alt = "";
  img.hidden = true;
  const nameText = make(doc, "span", "name", name);
  nameText.id = `transfer-name-${key}`;
  const meta = make(doc, "span", "preview-meta");
  meta.hidden = true;
  const details = make(doc, "span", "details");
  details.append(make(doc, "span", "size", formatBytes(size)), meta);
  const head = make(doc, "div", "transfer-head");
  head.append(nameText, details);
  const bar = make(doc, "progress");
  bar.max = 100;
  bar.value = 0;
  bar.setAttribute("aria-labelledby", nameText.id);
  const percent = make(doc, "span", "percent", "0%");
  const rate = make(doc, "span", "rate");
  const figures = make(doc, "span", "figures");
  figures.append(percent, " ", rate);
  const state = make(doc, "span", "state");
  const foot = make(doc, "div", "transfer-foot");
  foot.append(figures, state);
  const message = make(doc, "p", "message");
  const actions = make(doc, "div", "actions");
  /** @type {Record<Action, HTMLButtonElement>} */
  const buttons = /** @type {Record<Action, HTMLButtonElement>} */ ({});
  for (const action of ACTIONS) {
    const button = make(doc, "button", `button ${action}`, ACTION_LABELS[action]);
    button.type = "button";
    button.dataset.action = action;
    button.hidden = true;
    button.append(make(doc, "span", "visually-hidden", ` ${name}`));
    button.addEventListener("click", () => onAction(action));
    actions.append(button);
    buttons[action] = button;
  }
  const body = make(doc, "div", "transfer-body");
  body.append(head, bar, foot, message, actions);
  element.append(img, body);

  /** @param {RowModel} model */
  function drawProgress(model) {
    bar.value = model.percent;
    percent.textContent = `${model.percent}%`;
    rate.textContent = model.rate;
  }

  return {
    element,
    preview: { img, meta },
    drawProgress,
    draw(model, id) {
      element.dataset.status = model.status;
      element.dataset.tone = model.tone;
      if (id) element.dataset.id = id;
      state.textContent = model.words;
      message.textContent = model.message;
      message.hidden = !model.message;
      bar.hidden = figures.hidden = !model.bar;
      const focused = /** @type {HTMLElement | null} */ (doc.activeElement);
      const hadFocus = focused !== null && focused !== element && element.contains(focused);
      for (const action of ACTIONS) buttons[action].hidden = !model.actions.includes(action);
      // The pressed button may have just been hidden (Pause → Resume; Chromium blurs it at once):
      // keep focus in the row, on the button that took its place.
      if (hadFocus && (focused.hidden || !element.contains(doc.activeElement))) {
        const next = model.actions.length ? buttons[model.actions[0]] : element;
        next.focus();
      }
      drawProgress(model);
    },
  };
}
