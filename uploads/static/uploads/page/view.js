// @ts-check
// The upload list on screen: a row per upload, kept in step by subscribing to it, the overall bar,
// and announcements for screen readers. It only renders: buttons are handed to `onAction`.

import { summarize } from "../core/progress.js";
import { STATES } from "../core/states.js";
import { onceAFrame } from "../ui/frames.js";
import { analysisModel, announcement, overallParts, rowModel } from "../ui/present.js";
import { createRow } from "../ui/row.js";

/**
 * @import { MediaRecord } from "../core/answers.js"
 * @import { Action } from "../core/states.js"
 * @import { Listener, UploadSnapshot } from "../core/upload-status.js"
 * @import { Frame } from "../ui/frames.js"
 * @import { Previewer } from "../ui/preview.js"
 * @import { Row } from "../ui/row.js"
 */

/** What the view needs of an upload: what it is now, and word of each change. */
/** @typedef {{readonly snapshot: UploadSnapshot, subscribe: (listener: Listener) => () => void}} Viewable */

/**
 * @template {Viewable} U
 * @typedef {object} TransferViewOptions
 * @property {HTMLElement} list the <ul> of rows
 * @property {{box: HTMLElement, bar: HTMLProgressElement, text: HTMLElement}} overall
 * @property {HTMLElement} announcer an aria-live region
 * @property {(upload: U, action: Action) => void} onAction
 * @property {Frame} frame requestAnimationFrame, or a test's own
 * @property {Previewer} [preview] shows what each file is (none when left out)
 */

/**
 * Make the view; `add(upload)` shows a new upload below the others, `analysed(upload, record)`
 * shows what the server's analysis of its file found, `remove(upload)` takes it away.
 * @template {Viewable} U
 * @param {TransferViewOptions<U>} options
 */
export function createTransferView({ list, overall, announcer, onAction, frame, preview }) {
  const doc = list.ownerDocument;
  /** @type {Map<U, {row: Row, snapshot: UploadSnapshot, stop: () => void, release: () => void}>} */
  const shown = new Map();

  function announce(/** @type {string} */ text) {
    // Clearing first makes the same sentence count as new for screen readers that skip repeats.
    announcer.textContent = "";
    frame(() => {
      announcer.textContent = text;
    });
  }

  const summary = () => summarize([...shown.values()].map((entry) => entry.snapshot));

  const drawOverall = onceAFrame(frame, () => {
    const figures = summary();
    overall.box.hidden = figures.count === 0;
    overall.bar.value = figures.percent;
    // Each figure kept on one line (CSS), separated by middle dots.
    const spans = overallParts(figures).map((text) => Object.assign(doc.createElement("span"), { textContent: text }));
    overall.text.replaceChildren(...spans.flatMap((span, index) => (index ? [" · ", span] : [span])));
    overall.box.dataset.complete = String(figures.count > 0 && figures.done === figures.count);
  });

  return {
    /** @param {U} upload */
    add(upload) {
      const { file } = upload.snapshot;
      const row = createRow(doc, { name: file.name, size: file.size, onAction: (action) => onAction(upload, action) });
      const entry = { row, snapshot: upload.snapshot, stop: () => {}, release: () => {} };
      shown.set(upload, entry);
      list.append(row.element);
      // Read locally only what is (or will be) sent: by the next frame a refused file is refused.
      if (preview) {
        frame(() => {
          if (shown.has(upload) && STATES[entry.snapshot.status].counted) entry.release = preview(file, row.preview).dispose;
        });
      }
      const drawProgress = onceAFrame(frame, () => {
        row.drawProgress(rowModel(entry.snapshot));
        drawOverall();
      });
      entry.stop = upload.subscribe((snapshot, change) => {
        entry.snapshot = snapshot;
        if (change === "progress") return drawProgress();
        row.draw(rowModel(snapshot), snapshot.id);
        if (change === "status") {
          const text = announcement(snapshot, summary());
          if (text) announce(text);
        }
        drawOverall();
      });
      row.draw(rowModel(entry.snapshot), entry.snapshot.id);
      drawOverall();
    },
    /**
     * Show what the server found of an uploaded file: its thumbnail and figures replace the local
     * ones once they exist; a file it could not analyse gets a quiet note.
     * @param {U} upload
     * @param {MediaRecord} record
     */
    analysed(upload, record) {
      shown.get(upload)?.row.drawAnalysis(analysisModel(record));
    },
    /** Take an upload's row away, releasing its preview. @param {U} upload */
    remove(upload) {
      const entry = shown.get(upload);
      if (!entry) return;
      shown.delete(upload);
      entry.stop();
      entry.release();
      entry.row.element.remove();
      drawOverall();
    },
  };
}
