// @ts-check
// Taking files in: the picker and a drop zone (a drop outside the zone must not open the file).

/**
 * @typedef {object} DropZoneOptions
 * @property {HTMLElement} zone where files may be dropped
 * @property {HTMLInputElement} input the file picker
 * @property {(files: File[]) => void} onFiles
 */

/** Call `onFiles(files)` for files picked in `input` or dropped on `zone`. */
export function bindDropZone(/** @type {DropZoneOptions} */ { zone, input, onFiles }) {
  let depth = 0; // dragenter/dragleave fire for every child; count them to know when we really left

  input.addEventListener("change", () => {
    if (input.files?.length) onFiles([...input.files]);
    input.value = ""; // so picking the same file again (to resume it) fires "change" again
  });

  const hasFiles = (/** @type {DragEvent} */ event) => [...(event.dataTransfer?.types ?? [])].includes("Files");

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

  // A file dropped beside the zone would make the browser navigate to it, losing every upload.
  for (const type of /** @type {const} */ (["dragover", "drop"])) {
    window.addEventListener(type, (event) => {
      if (hasFiles(event) && !(event.target instanceof Node && zone.contains(event.target))) {
        event.preventDefault();
        if (event.dataTransfer) event.dataTransfer.dropEffect = "none";
      }
    });
  }
}
