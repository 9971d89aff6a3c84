// The uploader page: wires the config, API, queue, jobs and view together (the only module that
// touches the page at import time).

import { createApi } from "./api.js";
import { readConfig } from "./config.js";
import { bindDropZone } from "./dropzone.js";
import { UploadJob } from "./job.js";
import { checkFile } from "./limits.js";
import { createQueue } from "./queue.js";
import { createRecentList } from "./recent.js";
import { createResumeStore } from "./resume.js";
import { postFile, putPart } from "./transfer.js";
import { createView } from "./view.js";

const config = readConfig(JSON.parse(document.getElementById("uploader-config").textContent));
const api = createApi({ base: config.api, csrfToken: config.csrfToken });
const queue = createQueue({ concurrency: config.parallelFiles });
const jobs = [];

/** localStorage, or null where the browser refuses it (privacy modes throw on access). */
function browserStorage() {
  try {
    const storage = window.localStorage;
    storage.getItem("probe");
    return storage;
  } catch {
    return null;
  }
}
const store = createResumeStore(browserStorage());

const recent = createRecentList({
  body: document.getElementById("recent-uploads"),
  load: () => api.list(10),
});

const view = createView({
  list: document.getElementById("transfers"),
  overall: document.getElementById("overall"),
  announcer: document.getElementById("announcer"),
  onAction: (job, action) => {
    if (action === "pause") job.pause();
    else if (action === "resume") job.resume();
    else if (action === "retry") job.retry();
    else if (action === "cancel") job.cancel();
  },
});

/** Record ids other live jobs are using (or looking at), so a resume never takes one of them. */
function busyIds(self) {
  const ids = jobs
    .filter((job) => job !== self && !["rejected", "aborted", "uploaded"].includes(job.status))
    .flatMap((job) => [job.id, job.claim]);
  return new Set(ids.filter(Boolean));
}

/** Add files to the list: refused ones at once (no request at all), the others to the queue. */
function addFiles(files) {
  for (const file of files) {
    const job = new UploadJob(file, {
      api,
      postFile,
      putPart,
      store,
      config,
      busyIds,
      schedule: (task, options) => queue.add(task, options),
    });
    jobs.push(job);
    view.add(job);
    job.onChange((changed, kind) => {
      if (kind === "status" && ["uploaded", "failed", "aborted", "expired"].includes(changed.status)) {
        recent.refresh();
      }
    });
    const problem = checkFile(file, config);
    if (problem) job.reject(problem);
    else job.enqueue();
  }
}

bindDropZone({
  zone: document.getElementById("dropzone"),
  input: document.getElementById("file-input"),
  onFiles: addFiles,
});

// Leaving mid-upload loses a small file's progress (large ones resume when picked again).
window.addEventListener("beforeunload", (event) => {
  if (!jobs.some((job) => job.busy)) return;
  event.preventDefault();
  event.returnValue = ""; // older browsers ask only when this is set
});

recent.refresh(0);
document.getElementById("uploader").dataset.ready = "true";
