// @ts-check
// Taking files in: the picker and a drop zone (a drop outside the zone must not open the file).

/**
 * @typedef {object} DropZoneOptions
 * @property {HTMLElement} zone where files may be dropped
 * @property {HTMLInputElement} input the file picker
 * @property {(files: File[]) => void} onFiles
 */

/**
 * The drop zones of each window. A page may have several (a model form's upload widgets, one per
 * field): a file dropped beside all of them is kept from the browser, one dropped on any is not.
 * @type {WeakMap<EventTarget, Set<HTMLElement>>}
 */
const zonesOf = new WeakMap();

const hasFiles = (/** @type {DragEvent} */ event) => [...(event.dataTransfer?.types ?? [])].includes("Files");

/**
 * Call `onFiles(files)` for files picked in `input` or dropped on `zone`. Returns a function that
 * forgets the zone (a form row taken off the page).
 */
export function bindDropZone(/** @type {DropZoneOptions} */ { zone, input, onFiles }) {
  let depth = 0; // dragenter/dragleave fire for every child; count them to know when we really left

  input.addEventListener("change", () => {
    if (input.files?.length) onFiles([...input.files]);
    input.value = ""; // so picking the same file again (to resume it) fires "change" again
  });

  zone.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth += 1;
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragover", (event) => {
    if (!hasFiles(event) || !event.dataTransfer) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  zone.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) zone.classList.remove("dragging");
  });
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    depth = 0;
    zone.classList.remove("dragging");
    const files = [...(event.dataTransfer?.files ?? [])];
    if (files.length) onFiles(files);
  });

  const win = zone.ownerDocument.defaultView;
  if (!win) return () => {};
  let zones = zonesOf.get(win);
  if (!zones) {
    const known = (zones = new Set());
    zonesOf.set(win, known);
    // A file dropped beside the zones would make the browser navigate to it, losing every upload
    // (and, on a form, what was typed in it). One guard per window, whatever the number of zones.
    for (const type of /** @type {const} */ (["dragover", "drop"])) {
      win.addEventListener(type, (event) => {
        const target = /** @type {Node | null} */ (event.target);
        if (hasFiles(event) && ![...known].some((each) => each.contains(target))) {
          event.preventDefault();
          if (event.dataTransfer) event.dataTransfer.dropEffect = "none";
        }
      });
    }
  }
  const own = zones;
  own.add(zone);
  return () => {
    own.delete(zone);
  };
}
