// @ts-check
// A first-in, first-out queue that runs at most `concurrency` tasks at a time.

/**
 * @typedef {object} Ticket
 * @property {"waiting" | "started" | "finished" | "cancelled"} state
 * @property {() => boolean} cancel remove the task while it still waits (false once it runs)
 */

/**
 * @typedef {object} Queue
 * @property {(task: () => Promise<void>, options?: {front?: boolean}) => Ticket} add schedule a task;
 *   `front` puts it ahead of the others (a resumed file goes next)
 * @property {number} running tasks running now
 * @property {number} waiting tasks waiting for a slot
 * @property {() => Promise<void>} idle resolves once nothing runs or waits
 */

/**
 * Make a queue. A running task stops itself; the queue only frees its slot.
 * @param {{concurrency?: number, onError?: (error: unknown) => void}} [options]
 * @returns {Queue}
 */
export function createQueue({ concurrency = 2, onError = (error) => console.error(error) } = {}) {
  /** @type {(Ticket & {task: () => Promise<void>})[]} */
  const waiting = [];
  let running = 0;
  /** @type {(() => void)[]} */
  let idleWaiters = [];

  function pump() {
    while (running < concurrency && waiting.length) {
      const ticket = /** @type {Ticket & {task: () => Promise<void>}} */ (waiting.shift());
      ticket.state = "started";
      running += 1;
      Promise.resolve()
        .then(ticket.task)
        .catch(onError)
        .finally(() => {
          running -= 1;
          ticket.state = "finished";
          pump();
        });
    }
    if (!running && !waiting.length) {
      const resolvers = idleWaiters;
      idleWaiters = [];
      for (const resolve of resolvers) resolve();
    }
  }

  return {
    add(task, { front = false } = {}) {
      /** @type {Ticket & {task: () => Promise<void>}} */
      const ticket = {
        task,
        state: "waiting",
        cancel() {
          const index = waiting.indexOf(ticket);
          if (index < 0) return false;
          waiting.splice(index, 1);
          ticket.state = "cancelled";
          pump();
          return true;
        },
      };
      if (front) waiting.unshift(ticket);
      else waiting.push(ticket);
      // Start on a later microtask so several files added together keep their order.
      queueMicrotask(pump);
      return ticket;
    },
    get running() {
      return running;
    },
    get waiting() {
      return waiting.length;
    },
    idle() {
      if (!running && !waiting.length) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}
