// The state machine, and the page agreeing with it for every status: each one's words, tone,
// data-status and buttons on a rendered row come from its declaration, nowhere else.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { summarize } from "../../uploads/static/uploads/core/progress.js";
import {
  ACTIONS,
  actionsFor,
  canMove,
  INITIAL_STATUS,
  isFinal,
  landing,
  recordWords,
  STATES,
  STATUS,
  STATUS_NAMES,
} from "../../uploads/static/uploads/core/states.js";
import { createTransferView } from "../../uploads/static/uploads/page/view.js";
import { fakeDocument, now, visibleButtons } from "./support/fake-dom.mjs";
import { PROTOCOL_TABLE, protocol } from "./support/protocol.mjs";

const css = readFileSync(new URL("../../uploads/static/uploads/uploader.css", import.meta.url), "utf8");
const widgetCss = readFileSync(new URL("../../uploads/static/uploads/widget.css", import.meta.url), "utf8");
const LABELS = { pause: "Pause", resume: "Resume", retry: "Retry", cancel: "Cancel" };
const FACTS = [
  { multipart: false, recordOpen: false },
  { multipart: true, recordOpen: false },
  { multipart: false, recordOpen: true },
  { multipart: true, recordOpen: true },
];

/**
 * @import { Action, PageStatus } from "../../uploads/static/uploads/core/states.js"
 * @import { Listener } from "../../uploads/static/uploads/core/upload-status.js"
 * @import { Viewable } from "../../uploads/static/uploads/page/view.js"
 */

/** What decides the buttons besides the status. */
/** @typedef {{multipart: boolean, recordOpen: boolean}} Facts */

/** The buttons a status's declared rules give, worked out here independently of actionsFor. */
function declaredButtons(/** @type {PageStatus} */ status, /** @type {Facts} */ { multipart, recordOpen }) {
  const rules = STATES[status].can;
  return ACTIONS.filter(
    (action) =>
      rules[action] === "always" || (rules[action] === "multipart" && multipart) || (rules[action] === "open-record" && recordOpen),
  ).map((action) => LABELS[action]);
}

/**
 * An upload the view can show, standing still in `status`.
 * @param {PageStatus} status
 * @param {Partial<Facts>} facts
 * @returns {Viewable}
 */
function standing(status, facts, message = "Something to say.") {
  const file = new File([new Uint8Array(2048)], "clip.mp4", { type: "application/octet-stream" });
  const snapshot = {
    file,
    status,
    message,
    id: "r1",
    loaded: 1024,
    total: 2048,
    speed: 0,
    multipart: false,
    recordOpen: false,
    field_value: null,
    record: null,
    ...facts,
  };
  return { snapshot, subscribe: () => () => {} };
}

/** A view over a fake document, and its parts. */
function fakeView(/** @type {(upload: Viewable, action: Action) => void} */ onAction = () => {}) {
  const doc = fakeDocument();
  const list = doc.createElement("ul");
  const overall = { box: doc.createElement("div"), bar: doc.createElement("progress"), text: doc.createElement("span") };
  const announcer = doc.createElement("p");
  const view = createTransferView({ list, overall, announcer, onAction, frame: now });
  return { doc, list, overall, announcer, view };
}

test("the machine is whole: every status has words and a tone the stylesheet colours", () => {
  assert.equal(STATUS_NAMES.length, 11);
  for (const status of STATUS_NAMES) {
    const spec = STATES[status];
    assert.ok(spec.words.length > 2, status);
    assert.match(css, new RegExp(`\\.transfer\\[data-tone="${spec.tone}"\\]`), `${status}: tone ${spec.tone} has no CSS`);
    assert.match(
      widgetCss,
      new RegExp(`\\.media-widget-transfer\\[data-tone="${spec.tone}"\\]`),
      `${status}: tone ${spec.tone} has no widget CSS`,
    );
    for (const next of spec.next) assert.ok(/** @type {readonly string[]} */ (STATUS_NAMES).includes(next), `${status} → ${next}`);
  }
  // The stylesheets key nothing on a status name: a new status needs no CSS of its own.
  assert.doesNotMatch(css, /data-status=/);
  assert.doesNotMatch(widgetCss, /data-status=/);
});

test("every final record status of the protocol table has the page status an upload ends in", () => {
  const finals = Object.entries(PROTOCOL_TABLE.statuses)
    .filter(([, entry]) => entry.final)
    .map(([name]) => name);
  assert.ok(finals.length > 0);
  for (const status of finals) assert.equal(landing(status), status, `no page status for a record ${status}`);
  // …and no page status claims a record status the table does not call final.
  const ends = STATUS_NAMES.filter((status) => STATES[status].ends);
  assert.deepEqual([...ends].sort(), [...finals].sort());
  assert.equal(landing(protocol.openStatus), null);
  assert.equal(landing("something-new"), null);
});

test("STATUS names each page status by itself", () => {
  assert.deepEqual(Object.keys(STATUS), STATUS_NAMES);
  for (const status of STATUS_NAMES) assert.equal(STATUS[status], status);
  assert.equal(INITIAL_STATUS, STATUS.queued);
});

test("an upload is ongoing (a form waits for it) while busy or paused, and only then", () => {
  for (const status of STATUS_NAMES) {
    const spec = STATES[status];
    assert.equal(spec.ongoing, spec.busy || Boolean(spec.can.resume), status);
    if (spec.ongoing) assert.ok(!spec.ends && !isFinal(status), status);
  }
});

test("every status is reachable from the first, and every one can come to an end", () => {
  // Every `next` names a status (the test above checks it).
  const reach = (/** @type {PageStatus} */ from) => {
    const seen = new Set([from]);
    for (const status of seen) for (const next of STATES[status].next) seen.add(/** @type {PageStatus} */ (next));
    return seen;
  };
  assert.deepEqual([...reach(INITIAL_STATUS)].sort(), [...STATUS_NAMES].sort());
  for (const status of STATUS_NAMES) {
    assert.ok([...reach(status)].some(isFinal), `${status} never ends`);
  }
});

test("final statuses offer nothing and move nowhere; moves are only the declared ones", () => {
  for (const status of STATUS_NAMES) {
    if (isFinal(status)) {
      for (const facts of FACTS) assert.deepEqual(actionsFor(status, facts), [], status);
      assert.ok(!STATES[status].busy, `${status} is final yet keeps the page busy`);
    }
    for (const to of STATUS_NAMES) {
      assert.equal(canMove(status, to), status === to || STATES[status].next.includes(to), `${status} → ${to}`);
    }
  }
  // Each button's action leads somewhere declared: pause to paused, resume and retry to queued,
  // cancel to cancelling.
  /** @type {Record<Action, PageStatus>} */
  const target = { pause: "paused", resume: "queued", retry: "queued", cancel: "cancelling" };
  for (const status of STATUS_NAMES) {
    for (const action of actionsFor(status, { multipart: true, recordOpen: true })) {
      assert.ok(canMove(status, target[action]), `${status} offers ${action} but cannot move to ${target[action]}`);
    }
  }
});

test("for every status, a rendered row shows its status, tone, words and declared buttons", () => {
  for (const status of STATUS_NAMES) {
    for (const facts of FACTS) {
      /** @type {Action[]} */
      const pressed = [];
      const { list, view } = fakeView((upload, action) => pressed.push(action));
      view.add(standing(status, facts));
      const row = list.find("li.transfer");
      const spec = STATES[status];
      const where = `${status} ${JSON.stringify(facts)}`;
      assert.equal(row.dataset.status, status, where);
      assert.equal(row.dataset.tone, spec.tone, where);
      assert.equal(row.dataset.id, "r1", where);
      assert.equal(row.find(".state").textContent, spec.words, where);
      assert.equal(row.find(".message").textContent, "Something to say.", where);
      assert.deepEqual(visibleButtons(row), declaredButtons(status, facts), where);
      // The bar and its figures show unless the status says nothing will be sent.
      assert.equal(row.find("progress").hidden, spec.bar === false, where);
      assert.equal(row.find(".percent").textContent, "50%", where);
      // Each shown button names its file for screen readers, and asks for its own action.
      for (const button of row.findAll("button").filter((candidate) => !candidate.hidden)) {
        assert.equal(button.textContent, `${button.ownText} clip.mp4`);
        button.click();
      }
      assert.deepEqual(pressed, actionsFor(status, facts), where);
    }
  }
});

test("for every status, arriving in it is announced as declared, or not at all", () => {
  for (const status of STATUS_NAMES) {
    const { announcer, view } = fakeView();
    /** @type {Listener} */
    let tell = () => {};
    const upload = standing(INITIAL_STATUS, {});
    upload.subscribe = (listener) => ((tell = listener), () => {});
    view.add(upload);
    announcer.textContent = "";
    tell({ ...upload.snapshot, status, message: "Why it stopped." }, "status");
    const expected = STATES[status].announce?.replace("{name}", "clip.mp4").replace("{message}", "Why it stopped.") ?? "";
    assert.equal(announcer.textContent, expected, status);
  }
});

test("the overall figures count each status as its flags say", () => {
  for (const status of STATUS_NAMES) {
    const spec = STATES[status];
    const summary = summarize([{ status, loaded: 1, total: 4, speed: 8 }]);
    assert.equal(summary.count, spec.counted ? 1 : 0, status);
    assert.equal(summary.done, spec.counted && spec.done ? 1 : 0, status);
    assert.equal(summary.active, spec.counted && spec.busy ? 1 : 0, status);
    assert.equal(summary.speed, spec.counted && spec.sending ? 8 : 0, status);
  }
});

test("a record's status is said in the words of the page status it leads to", () => {
  assert.equal(recordWords("pending", protocol), "Not finished");
  assert.equal(recordWords("uploaded", protocol), "Uploaded");
  assert.equal(recordWords("aborted", protocol), "Cancelled");
  assert.equal(recordWords("failed", protocol), "Failed");
  assert.equal(recordWords("expired", protocol), "Expired");
  const newer = { ...protocol, isFinal: () => true };
  assert.equal(recordWords("something-new", newer), "something-new");
});
