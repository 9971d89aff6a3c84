// @ts-check
// Local previews of what is being sent, read in the browser before or while it uploads: an image's
// thumbnail, a video's first frame with its duration and picture size, an audio file's duration.
// Every object URL made here is revoked once read, or when the row goes away.

import { mediaKind, mediaMeta } from "./media.js";

/** @import { Row } from "./row.js" */

/** Shows a file's preview in a row's slots; `dispose` releases what it holds. */
/** @typedef {(file: File, slots: Row["preview"]) => {dispose: () => void}} Previewer */

/** @typedef {{createObjectURL: (blob: Blob) => string, revokeObjectURL: (url: string) => void}} UrlMaker */

/** A video's first frame is drawn this many pixels on its longer side (the row shows it smaller). */
const POSTER_PX = 160;

/**
 * Make the rows' previewer, reading files with `document` and `urls` (the browser's URL).
 * @param {{document: Document, urls?: UrlMaker}} deps
 * @returns {Previewer}
 */
export function createPreviewer({ document: doc, urls = URL }) {
  return (file, { img, meta }) => {
    const kind = mediaKind(file.type);
    /** @type {Set<string>} */
    const held = new Set();
    /** @type {HTMLMediaElement | null} */
    let media = null;

    const urlOf = (/** @type {Blob} */ blob) => {
      const url = urls.createObjectURL(blob);
      held.add(url);
      return url;
    };
    const release = (/** @type {string} */ url) => {
      if (held.delete(url)) urls.revokeObjectURL(url);
    };
    /** Let the media element go, and what it read with it (its decoder is freed too). */
    const finish = () => {
      if (!media) return;
      const source = media.src;
      media.removeAttribute("src");
      media.load();
      media = null;
      release(source);
    };
    const showMeta = (/** @type {string} */ text) => {
      meta.textContent = text;
      meta.hidden = !text;
    };

    if (kind === "image") {
      // The file itself is the thumbnail: its URL is kept while the row is shown.
      img.decoding = "async";
      img.addEventListener("load", () => (img.hidden = false), { once: true });
      img.addEventListener("error", () => release(img.src), { once: true });
      img.src = urlOf(file);
    } else if (kind === "video" || kind === "audio") {
      const video = kind === "video" ? doc.createElement("video") : null;
      const element = video ?? doc.createElement("audio");
      media = element;
      element.muted = true;
      // A video loads its first frame too; audio needs its header only.
      element.preload = video ? "auto" : "metadata";
      element.addEventListener(
        "loadedmetadata",
        () => {
          // MediaRecorder's WebM has no duration in its header (Infinity or NaN): none is shown.
          showMeta(mediaMeta({ duration: element.duration, width: video?.videoWidth, height: video?.videoHeight }));
          if (!video) finish();
        },
        { once: true },
      );
      element.addEventListener(
        "loadeddata",
        () => {
          if (video) drawPoster(video);
          finish();
        },
        { once: true },
      );
      element.addEventListener("error", finish, { once: true });
      element.src = urlOf(file);
    }

    /** Draw the video's current (first) frame into the thumbnail, as a data URL (nothing to revoke). */
    function drawPoster(/** @type {HTMLVideoElement} */ video) {
      const scale = Math.min(1, POSTER_PX / Math.max(video.videoWidth, video.videoHeight, 1));
      const canvas = doc.createElement("canvas");
      canvas.width = Math.max(1, Math.round(video.videoWidth * scale));
      canvas.height = Math.max(1, Math.round(video.videoHeight * scale));
      const context = canvas.getContext("2d");
      // The server's thumbnail came first (a resumed upload analysed long ago): it stays.
      if (!context || !video.videoWidth || img.dataset.source === "server") return;
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      img.src = canvas.toDataURL("image/jpeg", 0.8);
      img.hidden = false;
    }

    return {
      dispose() {
        finish();
        for (const url of [...held]) release(url);
      },
    };
  };
}
