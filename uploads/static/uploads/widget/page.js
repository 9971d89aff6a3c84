// @ts-check
// Every upload widget of a page: bound on load, and in each inline row Django's admin adds
// (`formset:added`, dispatched on the new row); the inline's template row (a `__prefix__` name) is
// left alone, no widget is bound twice, and one whose row was deleted (`formset:removed`) lets its
// upload go. The widgets share what keeps the page's uploads in step: one claim per record, one
// queue (the server's parallelFiles for the page), the resume store, the clock and the retries.

import { createClaims } from "../core/claims.js";
import { systemClock } from "../core/clock.js";
import { ALWAYS_ONLINE } from "../core/connectivity.js";
import { createQueue } from "../core/queue.js";
import { retryPolicy } from "../core/retry.js";
import { createFieldWidget } from "./field.js";
import { createListWidget } from "./list.js";

/**
 * @import { Clock } from "../core/clock.js"
 * @import { Connectivity } from "../core/connectivity.js"
 * @import { Queue } from "../core/queue.js"
 * @import { ResumeStore } from "../core/resume.js"
 * @import { RetryPolicy } from "../core/retry.js"
 * @import { Frame } from "../ui/frames.js"
 * @import { Previewer } from "../ui/preview.js"
 * @import { FieldWidget, Senders, WidgetDeps } from "./field.js"
 */

/**
 * The browser's collaborators (tests give their own).
 * @typedef {object} PageDeps
 * @property {typeof globalThis.fetch} fetch
 * @property {Senders} senders
 * @property {ResumeStore} store
 * @property {Frame} frame
 * @property {Previewer} [preview]
 * @property {Clock} [clock]
 * @property {Connectivity} [connectivity]
 * @property {RetryPolicy} [retry]
 */

/**
 * @typedef {object} PageWidgets
 * @property {() => FieldWidget[]} widgets those bound, in the order bound
 * @property {() => boolean} busy some widget's upload is under way
 * @property {(container: ParentNode) => void} bindWithin bind the widgets in `container` not bound yet
 */

export const WIDGET_SELECTOR = "[data-media-widget]";

/** Tell whether a widget is in the inline's template row, which Django clones for each new row. */
function inTemplateRow(/** @type {HTMLElement} */ root) {
  // Django renames the inputs of a row it adds (name, id), not the widget's data-name; a list
  // widget's first hidden input is its (disabled) name input.
  const input = /** @type {HTMLInputElement | null} */ (root.querySelector('input[type="hidden"]'));
  return (input?.name || root.dataset.name || "").includes("__prefix__");
}

/**
 * Bind the upload widgets of `doc`, now and as rows are added.
 * @param {Document} doc
 * @param {PageDeps} deps
 * @returns {PageWidgets}
 */
export function bindWidgets(doc, deps) {
  const clock = deps.clock ?? systemClock;
  const connectivity = deps.connectivity ?? ALWAYS_ONLINE;
  /** @type {Queue | null} */
  let queue = null;
  /** @type {WidgetDeps} */
  const shared = {
    fetch: deps.fetch,
    senders: deps.senders,
    store: deps.store,
    preview: deps.preview,
    claims: createClaims(),
    // Every widget's config says the same parallelFiles (a site setting): the first one's is used.
    queue: (config) => (queue ??= createQueue({ concurrency: config.parallelFiles })),
    clock,
    connectivity,
    retry: deps.retry ?? retryPolicy({ clock, connectivity }),
    frame: deps.frame,
  };
  /** @type {Map<HTMLElement, FieldWidget>} */
  const bound = new Map();

  function bind(/** @type {HTMLElement} */ root) {
    if (bound.has(root) || inTemplateRow(root)) return;
    try {
      const create = "list" in root.dataset ? createListWidget : createFieldWidget;
      bound.set(root, create(root, shared));
    } catch (error) {
      // Said in the widget rather than half-working: the server's settings or template need fixing.
      const status = root.querySelector(".media-widget-status");
      if (status) status.textContent = error instanceof Error ? error.message : String(error);
      root.dataset.ready = "false";
      console.error(error);
    }
  }

  /** @param {ParentNode} container */
  function bindWithin(container) {
    const roots = /** @type {HTMLElement[]} */ ([...container.querySelectorAll(WIDGET_SELECTOR)]);
    const self = /** @type {HTMLElement} */ (container);
    if (typeof self.matches === "function" && self.matches(WIDGET_SELECTOR)) roots.unshift(self);
    for (const root of roots) bind(root);
  }

  doc.addEventListener("formset:added", (event) => {
    const row = /** @type {HTMLElement | null} */ (event.target);
    if (row && typeof row.querySelectorAll === "function") bindWithin(row);
  });
  doc.addEventListener("formset:removed", () => {
    for (const [root, widget] of bound) {
      if (root.isConnected) continue;
      widget.dispose();
      bound.delete(root);
    }
  });
  bindWithin(doc);

  return {
    widgets: () => [...bound.values()],
    busy: () => [...bound.values()].some((widget) => widget.busy()),
    bindWithin,
  };
}
