// The steps of one upload, in order: find or make its record, get an authorisation, send the
// bytes (one signed POST, or the missing parts), and have the server verify the file.

import { formatBytes } from "./format.js";
import { describeRenew } from "./messages.js";
import { uploadParts } from "./multipart.js";
import { bytesHeld, missingParts, planFromDescriptor } from "./plan.js";
import { chooseRecord } from "./resume.js";
import { abortError, isAbort, withRetry } from "./retry.js";

// A POST policy this close to its expiry is renewed before sending, so a retry does not start doomed.
const POLICY_MARGIN_MS = 5_000;
// How often `complete` may find parts missing (and send them) before the page gives up.
const COMPLETE_ROUNDS = 3;

/** Find the record this file is already going up as, or declare it to the server. */
export async function begin(job, signal) {
  const { api, store, config } = job.deps;
  if (job.file.size > config.multipartThreshold && (await resumeExisting(job, signal))) return;
  // Not aborted mid-way: a create the server received must come back, so a cancel can abort it.
  const record = await job.call(() => api.create(job.file), undefined, { idempotent: false });
  job.adopt(record);
  job.upload = record.upload;
  if (job.multipart) {
    job.plan = planFromDescriptor(job.file.size, job.upload);
    job.missing = missingParts(job.plan);
    store.remember(job.file, record.id);
  }
  if (signal.aborted) throw abortError();
}

/** Resume a pending multipart record found in localStorage or the server's pending list. */
async function resumeExisting(job, signal) {
  const { api, store } = job.deps;
  const busy = job.deps.busyIds(job);
  let record = null;
  const remembered = store.get(job.file);
  if (remembered && !busy.has(remembered)) {
    job.claim = remembered;
    record = await job.call((s) => api.get(remembered, s), signal).catch((error) => {
      if (error.status === 404) return null;
      throw error;
    });
    if (!record || record.status !== "pending" || record.upload_method === "post") {
      store.forget(job.file);
      record = null;
    }
  }
  if (!record) {
    // localStorage was cleared (or is another browser's): the server still knows pending uploads.
    const page = await job.call((s) => api.listPending(s), signal).catch((error) => {
      if (isAbort(error)) throw error;
      return null; // only a convenience: any trouble here means a fresh upload
    });
    record = chooseRecord(job.file, page?.results ?? [], { busy });
  }
  if (!record) {
    job.claim = null;
    return false;
  }
  job.claim = record.id;
  let parts;
  try {
    parts = await job.call((s) => api.listParts(record.id, s), signal);
  } catch (error) {
    // Gone, final, or its S3 upload vanished (the app answers 409): start a fresh upload instead.
    if (![400, 404, 409].includes(error.status)) throw error;
    store.forget(job.file); // it finished, expired or was cancelled in the meantime
    job.claim = null;
    return false;
  }
  job.adopt(record);
  job.upload = { method: "multipart", part_size: parts.part_size, part_count: parts.part_count };
  job.plan = planFromDescriptor(job.file.size, job.upload);
  job.missing = missingParts(job.plan, parts.parts);
  store.remember(job.file, record.id);
  const held = bytesHeld(job.plan, job.missing);
  job.setLoaded(held);
  job.note = held ? `Resumed: ${formatBytes(held)} was already in storage.` : "";
  job.setMessage(job.note);
  return true;
}

/** Ask the server for a fresh authorisation of the same record. */
export async function authorize(job, signal) {
  const answer = await job.call((s) => job.deps.api.authorize(job.id, s), signal);
  job.upload = answer.upload;
  if (job.upload.method === "multipart") job.plan = planFromDescriptor(job.file.size, job.upload);
}

/** Tell whether the POST policy in hand is expired or about to be. */
function policyExpiring(job) {
  const expiresAt = Date.parse(job.upload?.expires_at ?? "");
  return !job.upload || (Number.isFinite(expiresAt) && expiresAt - job.deps.now() < POLICY_MARGIN_MS);
}

/** Send a small file as one signed POST form, retrying the whole form when that is worth it. */
export async function sendForm(job, signal) {
  const { postFile, attempts, wait, delay } = job.deps;
  job.setStatus("uploading");
  await withRetry(
    async () => {
      if (policyExpiring(job)) await authorize(job, signal);
      await job.whenOnline(signal);
      await postFile({
        url: job.upload.url,
        fields: job.upload.fields,
        file: job.file,
        signal,
        onProgress: (loaded) => {
          job.clearTransient();
          job.setLoaded(loaded);
        },
      });
    },
    {
      attempts,
      signal,
      wait,
      delay,
      onRetry: (info) => {
        job.setLoaded(0);
        job.noteRetry(info);
      },
      onRenew: async () => {
        job.setMessage(describeRenew(), { transient: true });
        await authorize(job, signal);
      },
    },
  );
}

/** Send the parts S3 does not hold yet, several at a time. */
export async function sendParts(job, signal) {
  const { api, putPart, config, attempts, wait, delay, now } = job.deps;
  if (!job.plan) job.plan = planFromDescriptor(job.file.size, job.upload);
  if (!job.missing) {
    // After a failure (or a 409 from complete) S3 is the one who knows which parts arrived.
    const parts = await job.call((s) => api.listParts(job.id, s), signal);
    job.missing = missingParts(job.plan, parts.parts);
  }
  const before = bytesHeld(job.plan, job.missing);
  job.setStatus("uploading", job.note);
  job.setLoaded(before);
  const done = new Set();
  try {
    await uploadParts({
      file: job.file,
      plan: job.plan,
      numbers: job.missing,
      signParts: (numbers, s) => api.signParts(job.id, numbers, s),
      putPart,
      parallel: config.parallelParts,
      attempts,
      signal,
      wait,
      delay,
      now,
      urlLifetimeMs: config.policyExpires * 1000,
      onProgress: (bytes) => job.setLoaded(before + bytes),
      onPartDone: (number) => {
        done.add(number);
        job.clearTransient();
      },
      onRetry: (info) => job.noteRetry(info),
      onRenew: () => job.setMessage(describeRenew(), { transient: true }),
    });
  } finally {
    job.missing = job.missing.filter((number) => !done.has(number));
  }
}

/** Have the server verify the file; send whatever parts it still misses, a few rounds at most. */
export async function finish(job, signal) {
  const { api, store, wait, delay } = job.deps;
  job.setStatus("verifying");
  for (let round = 1; ; round += 1) {
    try {
      const record = await job.call((s) => api.complete(job.id, s), signal);
      job.adopt(record);
      store.forget(job.file);
      job.setLoaded(job.total);
      job.setStatus(record.status);
      return;
    } catch (error) {
      const stillPending = error.status === 409 && error.body?.status === "pending";
      if (!stillPending || round >= COMPLETE_ROUNDS) throw error;
      if (job.multipart) {
        job.missing = null;
        await sendParts(job, signal);
        job.setStatus("verifying");
      } else {
        await wait(delay(round), signal); // a store may list a fresh object a moment late
      }
    }
  }
}
