// The upload list on screen: one row per file, the overall bar, and announcements for screen readers.

import { formatBytes, formatDuration, formatSpeed, percent } from "./format.js";
import { statusText } from "./messages.js";
import { summarize, timeLeft } from "./progress.js";

// Statuses worth saying out loud; progress itself is left to the bars.
const ANNOUNCED = new Set(["uploaded", "failed", "expired", "aborted", "paused", "rejected"]);
const ACTIONS = [
  ["pause", "Pause", (job) => job.canPause],
  ["resume", "Resume", (job) => job.canResume],
  ["retry", "Retry", (job) => job.canRetry],
  ["cancel", "Cancel", (job) => job.canCancel],
];

/** "2.1 MB/s · about 12 s left" for a file that is moving, else "". */
export function rateText({ status, loaded, total, speed }) {
  if (status !== "uploading" || !(speed > 0)) return "";
  const seconds = timeLeft(total - loaded, speed);
  const left = seconds === null ? "" : ` · about ${formatDuration(seconds)} left`;
  return `${formatSpeed(speed)}${left}`;
}

/** The overall bar's figures: ["1 of 3 uploaded", "45%", "3.2 MB/s", "about 20 s left"]. */
export function overallParts(summary) {
  const parts = [`${summary.done} of ${summary.count} uploaded`, `${summary.percent}%`];
  if (summary.speed > 0) parts.push(formatSpeed(summary.speed));
  if (summary.secondsLeft !== null) parts.push(`about ${formatDuration(summary.secondsLeft)} left`);
  return parts;
}

/** "1 of 3 uploaded · 45% · 3.2 MB/s · about 20 s left" for the overall bar. */
export function overallText(summary) {
  return overallParts(summary).join(" · ");
}

/** Fill `element` with the figures, each kept on one line (CSS), separated by middle dots. */
function drawFigures(element, parts) {
  element.replaceChildren(
    ...parts.flatMap((text, index) => {
      const span = document.createElement("span");
      span.textContent = text;
      return index ? [" · ", span] : [span];
    }),
  );
}

/**
 * Make the view over `list` (the <ul> of rows), `overall` (the overall bar's box) and `announcer`
 * (an aria-live region). `onAction(job, action)` runs when a row's button is pressed.
 */
export function createView({ list, overall, announcer, onAction }) {
  const rows = new Map(); // job → row elements
  const jobs = [];
  let frame = 0;

  list.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    const row = button?.closest(".transfer");
    const job = row && jobs.find((candidate) => rows.get(candidate).element === row);
    if (job) onAction(job, button.dataset.action);
  });

  function announce(text) {
    // Clearing first makes the same sentence count as new for screen readers that skip repeats.
    announcer.textContent = "";
    requestAnimationFrame(() => {
      announcer.textContent = text;
    });
  }

  function buildRow(job) {
    const element = document.createElement("li");
    element.className = "transfer";
    const nameId = `transfer-name-${jobs.length}`;
    element.innerHTML = `
      <div class="transfer-head"><span class="name"></span><span class="size"></span></div>
      <progress max="100" value="0"></progress>
      <div class="transfer-foot">
        <span class="figures"><span class="percent">0%</span> <span class="rate"></span></span>
        <span class="state"></span>
      </div>
      <p class="message"></p>
      <div class="actions"></div>`;
    const name = element.querySelector(".name");
    name.id = nameId;
    name.textContent = job.file.name;
    element.querySelector(".size").textContent = formatBytes(job.file.size);
    element.querySelector("progress").setAttribute("aria-labelledby", nameId);
    const actions = element.querySelector(".actions");
    const buttons = {};
    for (const [action, label] of ACTIONS) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = `button ${action}`;
      button.dataset.action = action;
      button.hidden = true;
      button.append(label);
      const hiddenName = document.createElement("span");
      hiddenName.className = "visually-hidden";
      hiddenName.textContent = ` ${job.file.name}`;
      button.append(hiddenName);
      actions.append(button);
      buttons[action] = button;
    }
    element.tabIndex = -1; // somewhere for focus to land when the pressed button goes away
    return {
      element,
      progress: element.querySelector("progress"),
      percent: element.querySelector(".percent"),
      rate: element.querySelector(".rate"),
      state: element.querySelector(".state"),
      message: element.querySelector(".message"),
      buttons,
    };
  }

  function drawProgress(job) {
    const row = rows.get(job);
    const value = percent(job.loaded, job.total);
    row.progress.value = value;
    row.percent.textContent = `${value}%`;
    row.rate.textContent = rateText(job);
  }

  function drawStatus(job) {
    const row = rows.get(job);
    const { element } = row;
    element.dataset.status = job.status;
    if (job.id) element.dataset.id = job.id;
    row.state.textContent = statusText(job.status);
    row.message.textContent = job.message;
    row.message.hidden = !job.message;
    const focused = document.activeElement;
    const hadFocus = focused !== element && element.contains(focused);
    for (const [action, , allowed] of ACTIONS) row.buttons[action].hidden = !allowed(job);
    // The pressed button may have just been hidden (Pause → Resume; Chromium blurs it at once):
    // keep focus in the row, on the button that took its place.
    if (hadFocus && (focused.hidden || !element.contains(document.activeElement))) {
      const next = Object.values(row.buttons).find((button) => !button.hidden);
      (next ?? element).focus();
    }
    drawProgress(job);
  }

  function drawOverall() {
    frame = 0;
    const summary = summarize(jobs);
    overall.hidden = summary.count === 0;
    overall.querySelector("progress").value = summary.percent;
    drawFigures(overall.querySelector(".overall-text"), overallParts(summary));
    overall.dataset.complete = String(summary.count > 0 && summary.done === summary.count);
  }

  function scheduleOverall() {
    if (!frame) frame = requestAnimationFrame(drawOverall);
  }

  return {
    /** Show a new file below the others (the order they are queued in), kept in step with its job. */
    add(job) {
      const row = buildRow(job);
      rows.set(job, row);
      jobs.push(job);
      list.append(row.element);
      let pending = 0;
      job.onChange((changed, kind) => {
        if (kind === "status") {
          drawStatus(changed);
          if (ANNOUNCED.has(changed.status)) this.announceJob(changed);
          scheduleOverall();
        } else if (!pending) {
          // Progress events come many times a second; draw at most once per frame.
          pending = requestAnimationFrame(() => {
            pending = 0;
            drawProgress(changed);
            scheduleOverall();
          });
        }
      });
      drawStatus(job);
      scheduleOverall();
    },
    /** Say what happened to a file, and when it was the last one, that everything is done. */
    announceJob(job) {
      const what = {
        uploaded: "uploaded.",
        aborted: "cancelled.",
        paused: "paused.",
        expired: "expired.",
      }[job.status];
      let text = what ? `${job.file.name} ${what}` : `${job.file.name}: ${job.message}`;
      const summary = summarize(jobs);
      if (job.status === "uploaded" && summary.count > 1 && summary.done === summary.count) {
        text += ` All ${summary.count} files are uploaded.`;
      }
      announce(text);
    },
    announce,
  };
}
