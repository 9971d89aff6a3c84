// @ts-check
// The upload widgets of a model form (the admin, or any page rendering MediaFileWidget), bound
// with the browser's own collaborators. The only widget module that touches the page on load.

import { createPreviewer } from "./preview.js";
import { browserStorage, createResumeStore } from "./resume.js";
import { createXhrSenders } from "./transfer.js";
import { bindWidgets } from "./widget-page.js";

function start() {
  const page = bindWidgets(document, {
    fetch: globalThis.fetch.bind(globalThis),
    ...createXhrSenders(),
    store: createResumeStore(browserStorage()), // the page's: a large file resumes here or there
    preview: createPreviewer({ document }),
  });
  // Leaving mid-upload loses a small file's progress (large ones resume when picked again).
  window.addEventListener("beforeunload", (event) => {
    if (!page.busy()) return;
    event.preventDefault();
    event.returnValue = ""; // older browsers ask only when this is set
  });
}

// A module runs once the document is parsed; this also holds if it is ever loaded otherwise.
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start, { once: true });
else start();
