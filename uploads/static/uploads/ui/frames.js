// @ts-check
// Drawing progress at most once per animation frame: an upload says how far it is many times a
// second, and parallel parts say it more often still, but the screen changes once a frame.

/** requestAnimationFrame, or a test's own. */
/** @typedef {(callback: () => void) => unknown} Frame */

/**
 * Make `draw` a drawing done on the next frame, once however often it is asked for before then.
 * @param {Frame} frame
 * @param {() => void} draw
 * @returns {() => void} asks for the drawing
 */
export function onceAFrame(frame, draw) {
  let due = false;
  return () => {
    if (due) return;
    due = true;
    frame(() => {
      due = false;
      draw();
    });
  };
}
