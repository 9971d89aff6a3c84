// One upload widget of a model form, on the fake DOM and the fake server: the create names the
// field, complete/'s signed field value goes into the hidden input, the field's limits
// refuse a file with no request, Clear empties the value, another file replaces the one going, and
// the form cannot be submitted while an upload is under way.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createApi } from "../../uploads/static/uploads/core/api.js";
import { createPreviewer } from "../../uploads/static/uploads/ui/preview.js";
import { fakeServer, makeFile, tick } from "./support/fake-server.mjs";
import { manualClock } from "./support/harness.mjs";
import { checkOf } from "./support/records.mjs";
import { protocol } from "./support/protocol.mjs";
import {
  button,
  drop,
  formPage,
  loggingFetch,
  pick,
  shownButtons,
  statusText,
  submit,
  untilStatus,
  widgetConfig,
} from "./support/widget-fixture.mjs";

/** @import { LoggedRequest } from "./support/widget-fixture.mjs" */

const creates = (/** @type {LoggedRequest[]} */ requests) =>
  requests.filter((request) => request.method === "POST" && request.url === "/api/media/");

test("the create names the field, and the field's signed value from complete/ fills the hidden input", async () => {
  const server = fakeServer();
  const { fetch, requests } = loggingFetch(server);
  const { roots, form, submits } = formPage({ server, fetch });
  const [root] = roots;
  assert.equal(root.dataset.ready, "true");
  assert.equal(root.dataset.status, undefined);

  pick(root, makeFile(8, "intro.mp4"));
  assert.equal(root.dataset.status, "queued");
  assert.ok(
    submits.every((control) => control.disabled),
    "the form cannot be saved with the old value",
  );
  assert.equal(submits[0].getAttribute("title"), "Wait for the uploads to finish, or cancel them, before saving.");
  assert.equal(await untilStatus(root, "uploaded", "failed"), "uploaded", statusText(root));

  assert.deepEqual(
    creates(requests).map((request) => request.body),
    [{ filename: "intro.mp4", content_type: "video/mp4", size: 8, field: "demo.episode.video" }],
  );
  assert.ok(creates(requests)[0].headers["Idempotency-Key"], "the core's Idempotency-Key is still sent");
  assert.equal(server.entry("r1").field, "demo.episode.video");
  assert.deepEqual(server.calls, ["create", "POST", "complete r1"], "one complete/, and no field-value/");
  assert.equal(requests[requests.length - 1].headers["X-CSRFToken"], "form-token", "the form's CSRF token");

  assert.equal(root.find("input").value, "signed:r1:demo.episode.video");
  assert.equal(root.dataset.id, "r1");
  assert.equal(statusText(root), "Uploaded. Save the form to keep it.");
  const current = root.find(".media-widget-current");
  assert.equal(current.hidden, false);
  assert.equal(current.find(".media-widget-name").textContent, "intro.mp4");
  assert.equal(current.find(".media-widget-size").textContent, "8 bytes");
  assert.equal(root.find(".media-widget-pick").find("span").textContent, "Replace…");
  assert.deepEqual(shownButtons(root), ["Clear"]);
  assert.ok(
    submits.every((control) => !control.disabled),
    "the form can be saved again",
  );
  assert.equal(submits[0].getAttribute("title"), null);
  assert.equal(form.dataset.uploading, undefined);
  assert.equal(submit(form), true);
});

test("a file breaking the field's limits is refused in words, with no request, and the form stays as it was", async () => {
  const server = fakeServer();
  const { fetch, requests } = loggingFetch(server);
  const { roots, submits } = formPage({ server, fetch, widgets: [{ value: "old-id", record: { filename: "old.mp4" } }] });
  const [root] = roots;
  pick(root, makeFile(1025, "huge.mp4"));
  assert.equal(root.dataset.status, "rejected");
  assert.equal(statusText(root), "Too large: 1.0 KB. The limit is 1.0 KB.");
  assert.equal(root.find(".media-widget-state").textContent, "Not accepted");
  pick(root, makeFile(8, "notes.txt", "text/plain"));
  assert.equal(statusText(root), "Files of type text/plain are not accepted. Accepted: video.");
  await tick();
  await tick();
  assert.deepEqual(requests, []);
  assert.equal(root.find("input").value, "old-id", "the value the field had is kept");
  assert.equal(root.find(".media-widget-current").hidden, false);
  assert.equal(root.find(".media-widget-name").textContent, "old.mp4");
  assert.ok(submits.every((control) => !control.disabled));
  assert.equal(root.find(".media-widget-preview").src, "https://s3.test/old.png", "no preview read for a refused file");
});

test("Clear empties the value and hides the attached file; a clear mid-upload cancels it", async () => {
  const server = fakeServer();
  server.hooks.beforePut = (number, signal) => new Promise((resolve) => signal.addEventListener("abort", resolve));
  const { roots, form, submits } = formPage({ server, widgets: [{ value: "old-id", record: { filename: "old.mp4" } }] });
  const [root] = roots;
  assert.deepEqual(shownButtons(root), ["Clear"]);

  pick(root, makeFile(23, "long.mp4"));
  await untilStatus(root, "uploading");
  while (!server.calls.includes("PUT 1")) await tick();
  assert.equal(submit(form), false, "no submit while the upload goes");
  assert.match(statusText(root), /Wait for the upload to finish, or cancel it, before saving\./);

  button(root, "Clear").focus();
  button(root, "Clear").click();
  assert.equal(root.ownerDocument.activeElement, root.find(".media-widget-file"), "focus goes to the picker");
  assert.equal(root.find("input").value, "");
  assert.equal(root.find(".media-widget-current").hidden, true);
  assert.equal(root.find(".media-widget-pick").find("span").textContent, "Choose a file…");
  assert.deepEqual(shownButtons(root), []);
  assert.equal(root.dataset.status, undefined);
  assert.equal(root.dataset.id, undefined);
  assert.equal(statusText(root), "No file: saving leaves this field empty.");
  assert.ok(submits.every((control) => !control.disabled));
  while (server.entry("r1").record.status !== "aborted") await tick();
  assert.ok(!server.calls.includes("complete r1"));
});

test("picking another file cancels the upload still going and attaches the new one", async () => {
  const server = fakeServer();
  let firstStuck = true;
  server.hooks.beforePut = (number, signal) =>
    firstStuck && signal ? new Promise((resolve) => signal.addEventListener("abort", resolve)) : undefined;
  const { roots, submits } = formPage({ server });
  const [root] = roots;
  pick(root, makeFile(23, "first.mp4"));
  while (!server.calls.includes("PUT 1")) await tick();
  assert.equal(root.dataset.id, "r1");

  firstStuck = false;
  pick(root, makeFile(8, "second.mp4"));
  assert.equal(root.find(".media-widget-transfer").find(".media-widget-name").textContent, "second.mp4");
  assert.equal(await untilStatus(root, "uploaded", "failed"), "uploaded", statusText(root));
  while (server.entry("r1").record.status !== "aborted") await tick();
  assert.equal(root.dataset.id, "r2");
  assert.equal(root.find("input").value, "signed:r2:demo.episode.video");
  assert.equal(root.find(".media-widget-name").textContent, "second.mp4");
  assert.ok(server.calls.includes("abort r1"));
  assert.ok(!server.calls.includes("complete r1"));
  assert.ok(submits.every((control) => !control.disabled));
});

test("a large file: Pause and Resume keep the form blocked until it is attached; Cancel keeps the old value", async () => {
  const server = fakeServer();
  let gate = false;
  server.hooks.beforePut = async (number, signal) => {
    if (number === 3 && gate) await new Promise((resolve) => signal.addEventListener("abort", resolve));
  };
  gate = true;
  const { roots, form, submits } = formPage({ server, widgets: [{ value: "old-id", record: { filename: "old.mp4" } }] });
  const [root] = roots;
  pick(root, makeFile(23, "lecture.mp4"));
  while (server.records.get("r1")?.parts.size !== 2) await tick();
  assert.deepEqual(shownButtons(root), ["Clear", "Pause", "Cancel"]);
  assert.match(root.find(".media-widget-percent").textContent, /^\d+%$/);

  button(root, "Pause").focus();
  button(root, "Pause").click();
  assert.equal(root.dataset.status, "paused");
  assert.ok(!shownButtons(root).includes("Pause"));
  assert.equal(root.ownerDocument.activeElement, button(root, "Resume"), "focus stays on the button that replaced Pause");
  assert.ok(
    submits.every((control) => control.disabled),
    "a paused upload still keeps the form from saving the old value",
  );
  assert.equal(submit(form), false);

  gate = false;
  button(root, "Resume").click();
  assert.equal(await untilStatus(root, "uploaded", "failed"), "uploaded", statusText(root));
  assert.equal(root.find("input").value, "signed:r1:demo.episode.video");
  assert.ok(submits.every((control) => !control.disabled));

  // Another file, cancelled: the value attached before stays.
  gate = true;
  pick(root, makeFile(23, "other.mp4"));
  while (server.records.get("r2")?.parts.size !== 2) await tick();
  button(root, "Cancel").click();
  assert.equal(await untilStatus(root, "aborted"), "aborted");
  assert.equal(server.entry("r2").record.status, "aborted");
  assert.equal(root.find("input").value, "signed:r1:demo.episode.video");
  assert.equal(root.find(".media-widget-name").textContent, "lecture.mp4");
  assert.ok(submits.every((control) => !control.disabled));
});

test("a completion refused (outside the field's limits) is said in words, and Retry completes it", async () => {
  const server = fakeServer();
  let refuse = true;
  server.override.complete = async ({ next }) =>
    refuse
      ? {
          status: 400,
          body: { detail: "field: Too large for this field.", code: "invalid", fields: { field: ["Too large for this field."] } },
        }
      : next();
  const { roots, submits } = formPage({ server, widgets: [{ value: "old-id", record: { filename: "old.mp4" } }] });
  const [root] = roots;
  pick(root, makeFile(8, "intro.mp4"));
  assert.equal(await untilStatus(root, "failed", "uploaded"), "failed");
  assert.equal(statusText(root), "The server refused the file: Too large for this field.");
  assert.equal(root.find(".media-widget-state").textContent, "Failed");
  assert.equal(root.find("input").value, "old-id");
  assert.equal(root.find(".media-widget-name").textContent, "old.mp4");
  assert.deepEqual(shownButtons(root), ["Clear", "Retry", "Cancel"], "the record is still open: Cancel discards it");
  assert.ok(submits.every((control) => !control.disabled));

  refuse = false;
  button(root, "Retry").click();
  assert.equal(await untilStatus(root, "uploaded", "failed"), "uploaded");
  assert.equal(root.find("input").value, "signed:r1:demo.episode.video");
  assert.deepEqual(
    server.calls.filter((call) => call.startsWith("create")),
    ["create"],
    "the same record",
  );
});

test("a file that finished before Cancel took effect is said so, and is not attached", async () => {
  const server = fakeServer();
  /** @type {(value?: unknown) => void} */
  let release = () => {};
  let held = false;
  server.hooks.beforePut = (number, signal) =>
    new Promise((resolve) => {
      release = resolve;
      held = true;
      signal.addEventListener("abort", resolve);
    });
  const { roots } = formPage({ server, widgets: [{ value: "old-id", record: { filename: "old.mp4" } }] });
  const [root] = roots;
  pick(root, makeFile(23, "lecture.mp4"));
  while (!held) await tick();
  // Another tab completed it meanwhile: the abort finds it uploaded.
  server.override.abort = async ({ id }) => {
    server.entry(id).record.status = "uploaded";
    return server.refuse(409, "This upload is uploaded; it can no longer change.", "not_pending", { status: "uploaded" });
  };
  button(root, "Cancel").click();
  assert.equal(await untilStatus(root, "uploaded", "aborted", "failed"), "uploaded");
  assert.equal(statusText(root), "It finished before it could be cancelled. It was not attached to this field.");
  assert.equal(root.find("input").value, "old-id");
  assert.equal(root.find(".media-widget-current").find(".media-widget-name").textContent, "old.mp4");
  release();
});

test("one file may be dropped on the widget; several are refused; a drop beside it is kept from the browser", async () => {
  const server = fakeServer();
  const { doc, roots } = formPage({ server });
  const [root] = roots;
  drop(root.find(".media-widget-limits"), [makeFile(8, "a.mp4"), makeFile(8, "b.mp4")]);
  assert.equal(statusText(root), "Drop one file: this field takes a single file.");
  assert.deepEqual(server.calls, []);

  const beside = drop(doc.body, [makeFile(8, "a.mp4")]);
  assert.equal(beside.defaultPrevented, true, "the browser does not open the file in place of the form");
  assert.deepEqual(server.calls, []);

  const onIt = drop(root.find(".media-widget-status"), [makeFile(8, "a.mp4")]);
  assert.equal(onIt.dataTransfer.dropEffect, "none", "the window's guard leaves a drop on the widget alone");
  assert.equal(await untilStatus(root, "uploaded", "failed"), "uploaded");
  assert.equal(root.find("input").value, "signed:r1:demo.episode.video");
});

test("the CSRF token comes from the form, else from Django's cookie", async () => {
  const server = fakeServer();
  const { fetch, requests } = loggingFetch(server);
  const page = formPage({ server, fetch, csrf: "", bind: false });
  page.doc.cookie = "sessionid=x; csrftoken=cookie%2Dtoken; theme=dark";
  const { bindPage } = await import("./support/widget-fixture.mjs");
  bindPage(page.doc, { server, fetch });
  pick(page.roots[0], makeFile(8, "intro.mp4"));
  await untilStatus(page.roots[0], "uploaded", "failed");
  assert.ok(requests.every((request) => request.headers["X-CSRFToken"] === "cookie-token"));
});

test("the file's preview is read only for a file that will be sent, and becomes the attached file's", async () => {
  const server = fakeServer();
  const { fakeDocument } = await import("./support/fake-dom.mjs");
  /** @type {Blob[]} */
  const made = [];
  /** @type {string[]} */
  const revoked = [];
  const urls = {
    createObjectURL: (/** @type {Blob} */ blob) => (made.push(blob), `blob:${made.length}`),
    revokeObjectURL: (/** @type {string} */ url) => void revoked.push(url),
  };
  const preview = createPreviewer({ document: fakeDocument(), urls });
  const config = widgetConfig({ allowedTypes: ["image/*"], acceptedSummary: "images" });
  const { roots } = formPage({ server, preview, widgets: [{ config }] });
  const [root] = roots;
  pick(root, makeFile(2000, "big.png", "image/png"));
  assert.equal(made.length, 0, "a refused file is not read");
  pick(root, makeFile(8, "cover.png", "image/png"));
  assert.equal(made.length, 1);
  await untilStatus(root, "uploaded", "failed");
  const img = root.find(".media-widget-current").find("img");
  assert.equal(img.src, "blob:1");
  assert.deepEqual(revoked, [], "the attached file's thumbnail is kept while it is shown");
  button(root, "Clear").click();
  assert.deepEqual(revoked, ["blob:1"]);
});

test("the API client: a widget's create names its field, the page's does not", async () => {
  /** @type {[string, unknown][]} */
  const bodies = [];
  /** @type {typeof globalThis.fetch} */
  const fetch = async (url, init) => {
    bodies.push([String(url), JSON.parse(String(init?.body))]);
    const record = {
      id: "id1",
      filename: "a.mp4",
      content_type: "video/mp4",
      size: 3,
      status: "pending",
      upload_method: "post",
      created_at: "2026-11-01T00:00:00Z",
      analysis: { status: "none", reason: null, detail: null },
    };
    const upload = { method: "post", url: "https://s3.test/b", fields: {}, expires_at: "2026-11-01T00:01:00Z" };
    return new Response(JSON.stringify({ ...record, upload }), { status: 200 });
  };
  const file = { name: "a.mp4", size: 3, type: "video/mp4" };
  await createApi({ protocol, base: "/api/media/", csrfToken: "t", fetch }).create(file, "k1");
  await createApi({ protocol, base: "/api/media/", csrfToken: "t", fetch, field: "demo.episode.video" }).create(file, "k2");
  assert.deepEqual(bodies, [
    ["/api/media/", { filename: "a.mp4", content_type: "video/mp4", size: 3 }],
    ["/api/media/", { filename: "a.mp4", content_type: "video/mp4", size: 3, field: "demo.episode.video" }],
  ]);
});

// ---------------------------------------------------------------- a field whose limits wait for the analysis

/**
 * A widget whose field bounds what analysis finds, on a server that says "checking" until the test
 * plays the worker, with a clock that moves only when the test wakes it.
 */
async function checkedWidget() {
  const server = fakeServer({ analysedLimits: true });
  const clock = manualClock();
  const { roots, form, submits } = formPage({ server, clock });
  const [root] = roots;
  pick(root, makeFile(8, "teaser.mp4"));
  assert.equal(await untilStatus(root, "uploaded", "failed"), "uploaded", statusText(root));
  return { server, clock, root, form, submits };
}

const gets = (/** @type {string[]} */ calls) => calls.filter((call) => call.startsWith("get "));

test("a field checking the analysis says so, asks again with backoff, and shows the server's refusal as its error", async () => {
  const { server, clock, root, submits } = await checkedWidget();
  assert.equal(root.dataset.check, "waiting");
  assert.equal(statusText(root), "Uploaded. Checking…");
  assert.equal(root.find("input").value, "signed:r1:demo.episode.video", "the value is the file's: saving would say the same");
  assert.ok(
    submits.every((control) => !control.disabled),
    "the form is not held while the server checks",
  );
  await clock.wake();
  await clock.wake();
  assert.deepEqual(gets(server.calls), ["get r1", "get r1"]);
  const message = "This file is 10 seconds long; files here may be at most 5 seconds.";
  server.analyse("r1", { metadata: null, check: checkOf("refused", message) });
  await clock.wake();
  assert.deepEqual(clock.slept, [500, 1000, 2000]);
  assert.equal(root.dataset.check, "blocked");
  assert.equal(root.dataset.tone, "bad");
  assert.equal(statusText(root), message);
  assert.equal(clock.sleeping(), 0, "no more asking once the field has said");
  assert.equal(root.find("input").value, "signed:r1:demo.episode.video");
});

test("an accepted file shows the server's thumbnail and figures in place of the local preview", async () => {
  const { server, clock, root } = await checkedWidget();
  server.analyse("r1", {
    thumbnail_url: "https://s3.test/thumb",
    metadata: {
      kind: "video",
      container: "mp4",
      width: 640,
      height: 360,
      rotation: 0,
      display_aspect_ratio: "16:9",
      duration: 4,
      duration_source: "header",
      frame_rate: 25,
      video_codec: "h264",
      audio_codec: null,
      has_audio: false,
      bit_rate: null,
    },
  });
  await clock.wake();
  assert.equal(root.dataset.check, "passed");
  assert.equal(root.dataset.tone, "ok");
  assert.equal(statusText(root), "Uploaded. Save the form to keep it.");
  const current = root.find(".media-widget-current");
  const img = current.find("img");
  assert.equal(img.src, "https://s3.test/thumb");
  img.dispatchEvent(new Event("load"));
  assert.equal(img.hidden, false);
  assert.equal(current.find(".media-widget-preview-meta").textContent, "0:04 · 640×360");
});

test("a check still going after two minutes stops asking and leaves the verdict to saving", async () => {
  const { server, clock, root } = await checkedWidget();
  while (clock.sleeping()) await clock.wake();
  assert.equal(root.dataset.check, "unsure");
  assert.equal(statusText(root), "Still being checked: saving the form will say whether this file can be used.");
  const waited = clock.slept.reduce((sum, ms) => sum + ms, 0);
  assert.ok(waited <= 120_000, `${waited} ms`);
  assert.equal(gets(server.calls).length, clock.slept.length);
});

test("clearing the field, or picking another file, stops the check of the file before", async () => {
  const { server, clock, root } = await checkedWidget();
  await clock.wake();
  assert.equal(clock.sleeping(), 1);
  button(root, "Clear").click();
  await tick();
  assert.equal(clock.sleeping(), 0, "the wait was stopped");
  server.analyse("r1", { check: checkOf("refused", "Too long.") });
  assert.deepEqual(gets(server.calls), ["get r1"]);
  assert.equal(statusText(root), "No file: saving leaves this field empty.");
  assert.equal(root.dataset.check, undefined);

  pick(root, makeFile(8, "second.mp4"));
  assert.equal(await untilStatus(root, "uploaded", "failed"), "uploaded");
  assert.equal(root.dataset.check, "waiting");
  pick(root, makeFile(8, "third.mp4"));
  assert.equal(root.dataset.check, undefined, "a new file is not checked before it is uploaded");
});

test("a field whose limits need no analysis is accepted with complete/'s answer: nothing more is asked", async () => {
  const server = fakeServer();
  const clock = manualClock();
  const { roots } = formPage({ server, clock });
  const [root] = roots;
  pick(root, makeFile(8, "intro.mp4"));
  await untilStatus(root, "uploaded", "failed");
  assert.equal(root.dataset.check, "passed");
  assert.equal(statusText(root), "Uploaded. Save the form to keep it.");
  assert.equal(clock.sleeping(), 0);
  assert.deepEqual(gets(server.calls), []);
});
