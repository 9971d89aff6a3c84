// @ts-check
// The upload widgets of a model form (the admin, or any page rendering MediaFileWidget), bound
// with the browser's own collaborators. The only widget module that touches the page on load.

import { createResumeStore } from "./core/resume.js";
import { createXhrSenders } from "./core/transfer.js";
import { animationFrames, browserConnectivity, browserStorage, keepOpenWhileBusy } from "./ui/browser.js";
import { createPreviewer } from "./ui/preview.js";
import { bindWidgets } from "./widget/page.js";

function start() {
  const page = bindWidgets(document, {
    fetch: globalThis.fetch.bind(globalThis),
    senders: (protocol) => createXhrSenders({ protocol }),
    store: createResumeStore(browserStorage(window)), // the page's: a large file resumes here or there
    connectivity: browserConnectivity(window),
    frame: animationFrames(window),
    preview: createPreviewer({ document }),
  });
  keepOpenWhileBusy(window, page.busy);
}

// A module runs once the document is parsed; this also holds if it is ever loaded otherwise.
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start, { once: true });
else start();
