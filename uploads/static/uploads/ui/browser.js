// @ts-check
// The browser's own collaborators for the uploader core, which knows no browser: a window's local
// storage, its connection, its animation frames, and keeping it open while uploads need it.

import { createConnectivity } from "../core/connectivity.js";

/**
 * @import { Connectivity } from "../core/connectivity.js"
 * @import { StorageLike } from "../core/resume.js"
 * @import { Frame } from "./frames.js"
 */

/**
 * The window's localStorage, or null where it refuses it (privacy modes throw on access). The page
 * and the form widgets share it, so either resumes the other's uploads.
 * @param {Window} win
 * @returns {StorageLike | null}
 */
export function browserStorage(win) {
  try {
    const storage = win.localStorage;
    storage.getItem("probe");
    return storage;
  } catch {
    return null;
  }
}

/**
 * The window's connection: offline only when the browser knows it (navigator.onLine), back on its
 * "online" event.
 * @param {Window} win
 * @returns {Connectivity}
 */
export function browserConnectivity(win) {
  return createConnectivity({ isOffline: () => win.navigator.onLine === false, target: win });
}

/**
 * The window's animation frames.
 * @param {Window} win
 * @returns {Frame}
 */
export function animationFrames(win) {
  return (callback) => win.requestAnimationFrame(callback);
}

/**
 * Have the browser ask before the window is left while `busy()` says uploads need it: leaving
 * mid-upload loses a small file's progress (large ones resume when picked again).
 * @param {Window} win
 * @param {() => boolean} busy
 */
export function keepOpenWhileBusy(win, busy) {
  win.addEventListener("beforeunload", (event) => {
    if (!busy()) return;
    event.preventDefault();
    event.returnValue = ""; // older browsers ask only when this is set
  });
}
