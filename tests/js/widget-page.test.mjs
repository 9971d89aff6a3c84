// The upload widgets of a page: several on one form without interfering, the admin's inline
// template row left alone until Django adds a row from it (formset:added), never bound twice, and
// a deleted row's upload let go (formset:removed).
import assert from "node:assert/strict";
import { test } from "node:test";

import { countPostsInFlight, fakeServer, makeFile, tick } from "./support/fake-server.mjs";
import {
  bindPage,
  button,
  formPage,
  loggingFetch,
  pick,
  submit,
  untilStatus,
  widgetConfig,
  widgetMarkup,
} from "./support/widget-fixture.mjs";

/** @import { FakeNode } from "./support/fake-dom.mjs" */

const VIDEO = widgetConfig({ field: "demo.episode.video" });
const COVER = widgetConfig({ field: "demo.episode.cover", allowedTypes: ["image/*"], acceptedSummary: "images", maxBytes: 100 });

test("two widgets on one form: each uploads for its own field into its own input, and the form waits for both", async () => {
  const server = fakeServer();
  /** @type {(value?: unknown) => void} */
  let releaseVideo = () => {};
  const videoGate = new Promise((resolve) => (releaseVideo = resolve));
  server.hooks.beforePut = () => videoGate; // the video (in parts) waits; the cover (one POST) does not
  const { fetch, requests } = loggingFetch(server);
  const { roots, form, submits } = formPage({
    server,
    fetch,
    widgets: [
      { name: "video", config: VIDEO, required: true },
      { name: "cover", config: COVER, value: "old-cover", record: { filename: "old.png" } },
    ],
  });
  const [video, cover] = roots;
  pick(video, makeFile(23, "episode.mp4"));
  pick(cover, makeFile(8, "cover.png", "image/png"));
  assert.equal(await untilStatus(cover, "uploaded", "failed"), "uploaded");
  const coverId = cover.dataset.id;
  assert.equal(cover.find("input").value, `signed:${coverId}:demo.episode.cover`);
  assert.equal(video.dataset.status, "uploading");
  assert.equal(video.find("input").value, "");
  assert.ok(
    submits.every((control) => control.disabled),
    "the video still goes: the form still waits",
  );
  assert.equal(submit(form), false);

  // Clearing one widget touches neither the other's upload nor its value.
  button(cover, "Clear").click();
  assert.equal(cover.find("input").value, "");
  assert.equal(video.dataset.status, "uploading");

  releaseVideo();
  assert.equal(await untilStatus(video, "uploaded", "failed"), "uploaded");
  assert.equal(video.find("input").value, `signed:${video.dataset.id}:demo.episode.video`);
  assert.equal(cover.find("input").value, "");
  assert.ok(submits.every((control) => !control.disabled));

  const created = requests.filter((request) => request.method === "POST" && request.url === "/api/media/");
  assert.deepEqual(created.map((request) => [request.body.filename, request.body.field]).sort(), [
    ["cover.png", "demo.episode.cover"],
    ["episode.mp4", "demo.episode.video"],
  ]);
  // Each value came with its complete/, the one request that settles each upload.
  const completes = requests.filter((request) => request.url.endsWith("/complete/")).map((request) => request.url);
  assert.deepEqual(completes, [`/api/media/${coverId}/complete/`, `/api/media/${video.dataset.id}/complete/`]);
  assert.deepEqual(
    requests.filter((request) => request.url.endsWith("/field-value/")),
    [],
  );
  // Each widget's limits are its own: the cover's 100 bytes do not bind the video.
  pick(cover, makeFile(101, "poster.png", "image/png"));
  assert.equal(cover.dataset.status, "rejected");
  assert.equal(video.dataset.status, "uploaded");
});

test("the same large file in two widgets makes two records: no upload drives another's", async () => {
  const server = fakeServer();
  /** @type {(value?: unknown) => void} */
  let release = () => {};
  const gate = new Promise((resolve) => (release = resolve));
  server.hooks.beforePut = () => gate;
  const { roots } = formPage({
    server,
    widgets: [
      { name: "a", config: VIDEO },
      { name: "b", config: VIDEO },
    ],
  });
  const file = makeFile(23, "same.mp4");
  pick(roots[0], file);
  while (!roots[0].dataset.id) await tick();
  pick(roots[1], file);
  while (!roots[1].dataset.id) await tick();
  release();
  await Promise.all(roots.map((root) => untilStatus(root, "uploaded", "failed")));
  assert.deepEqual(
    roots.map((root) => root.dataset.id),
    ["r1", "r2"],
  );
  assert.deepEqual(
    roots.map((root) => root.find("input").value),
    ["signed:r1:demo.episode.video", "signed:r2:demo.episode.video"],
  );
});

test("the page's widgets share the server's parallelFiles", async () => {
  const server = fakeServer();
  const posts = countPostsInFlight(server, { ticks: 2 });
  const config = widgetConfig({ parallelFiles: 2 });
  const { roots } = formPage({ server, widgets: ["a", "b", "c", "d"].map((name) => ({ name, config })) });
  roots.forEach((root, index) => pick(root, makeFile(8, `f${index}.mp4`)));
  await Promise.all(roots.map((root) => untilStatus(root, "uploaded", "failed")));
  assert.equal(posts.most(), 2);
});

/**
 * An admin inline: its template row (`__prefix__`), and Django's "Add another" cloning it.
 * @param {ReturnType<typeof formPage>} page
 */
function inline(page) {
  const { doc, form } = page;
  const group = doc.createElement("div");
  group.className = "inline-group";
  const template = doc.createElement("div");
  template.className = "inline-related empty-form";
  template.id = "clips-empty";
  template.append(widgetMarkup(doc, { name: "clips-__prefix__-video", config: VIDEO }));
  group.append(template);
  form.append(group);
  let next = 0;
  return {
    template,
    /** What inlines.js does: clone the template, rename its inputs (not data-name), insert, dispatch. */
    add() {
      const index = next++;
      const row = doc.createElement("div");
      row.className = "inline-related";
      row.id = `clips-${index}`;
      const widget = widgetMarkup(doc, { name: "clips-__prefix__-video", config: VIDEO });
      const input = widget.find("input");
      input.name = input.name.replace("__prefix__", String(index));
      input.id = input.id.replace("__prefix__", String(index));
      row.append(widget);
      template.before(row);
      row.dispatchEvent(new CustomEvent("formset:added", { bubbles: true, detail: { formsetName: "clips" } }));
      return row;
    },
    remove(/** @type {FakeNode} */ row) {
      row.remove();
      doc.dispatchEvent(new CustomEvent("formset:removed", { detail: { formsetName: "clips" } }));
    },
  };
}

test("the inline's template row is left alone; each row Django adds is bound once", async () => {
  const server = fakeServer();
  const page = formPage({ server, bind: false });
  const rows = inline(page);
  const widgets = bindPage(page.doc, { server });
  assert.equal(widgets.widgets().length, 1, "the form's own widget only");
  const templateWidget = rows.template.find(".media-widget");
  assert.equal(templateWidget.dataset.ready, undefined);
  assert.deepEqual(templateWidget.findAll(".media-widget-transfer"), []);

  const row = rows.add();
  const widget = row.find(".media-widget");
  assert.equal(widget.dataset.ready, "true");
  assert.equal(widget.dataset.name, "clips-0-video", "data-name follows the input Django renamed");
  assert.equal(widgets.widgets().length, 2);
  assert.equal(rows.template.find(".media-widget").dataset.ready, undefined);

  // Another formset:added from that row, or a scan of the page, binds nothing twice.
  row.dispatchEvent(new CustomEvent("formset:added", { bubbles: true, detail: { formsetName: "clips" } }));
  widgets.bindWithin(page.doc);
  assert.equal(widgets.widgets().length, 2);

  pick(widget, makeFile(8, "clip.mp4"));
  assert.equal(widget.findAll(".media-widget-transfer").length, 1, "one widget bound: one transfer shown");
  assert.equal(await untilStatus(widget, "uploaded", "failed"), "uploaded");
  assert.equal(widget.find("input").value, "signed:r1:demo.episode.video");
  assert.equal(server.calls.filter((call) => call === "create").length, 1, "one upload for one pick");

  const second = rows.add();
  assert.equal(second.find(".media-widget").dataset.name, "clips-1-video");
  assert.equal(widgets.widgets().length, 3);
});

test("a row deleted mid-upload lets its upload go, and the form is free again", async () => {
  const server = fakeServer();
  server.hooks.beforePut = (number, signal) => new Promise((resolve) => signal.addEventListener("abort", resolve));
  const page = formPage({ server, bind: false, widgets: [] });
  const rows = inline(page);
  const widgets = bindPage(page.doc, { server });
  const row = rows.add();
  const widget = row.find(".media-widget");
  pick(widget, makeFile(23, "clip.mp4"));
  while (!server.calls.includes("PUT 1")) await tick();
  assert.equal(widgets.busy(), true);
  assert.ok(page.submits.every((control) => control.disabled));

  rows.remove(row);
  assert.equal(widgets.busy(), false);
  assert.equal(widgets.widgets().length, 0);
  assert.ok(page.submits.every((control) => !control.disabled));
  while (server.entry("r1").record.status !== "aborted") await tick();
});

test("a widget whose settings are wrong says so, and the others work", async (t) => {
  t.mock.method(console, "error", () => {});
  const server = fakeServer();
  const { roots } = formPage({
    server,
    widgets: [
      { name: "broken", config: widgetConfig({ maxBytes: "lots" }) },
      { name: "video", config: VIDEO },
    ],
  });
  const [broken, video] = roots;
  assert.equal(broken.dataset.ready, "false");
  assert.match(broken.find(".media-widget-status").textContent, /maxBytes must be a whole number above 0/);
  pick(video, makeFile(8, "intro.mp4"));
  assert.equal(await untilStatus(video, "uploaded", "failed"), "uploaded");
});
