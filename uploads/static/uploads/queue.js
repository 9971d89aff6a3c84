// A first-in, first-out queue that runs at most `concurrency` tasks at a time.

/**
 * Make a queue. `add(task, {front})` schedules an async function and returns a ticket whose
 * `cancel()` removes it while it still waits (a running task stops itself; the queue only frees its slot).
 */
export function createQueue({ concurrency = 2, onError = (error) => console.error(error) } = {}) {
  const waiting = [];
  let running = 0;
  let idleWaiters = [];

  function pump() {
    while (running < concurrency && waiting.length) {
      const ticket = waiting.shift();
      ticket.state = "running";
      running += 1;
      Promise.resolve()
        .then(ticket.task)
        .catch(onError)
        .finally(() => {
          running -= 1;
          ticket.state = "done";
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
    /** Schedule `task`; `front` puts it ahead of the others (a resumed file goes next). */
    add(task, { front = false } = {}) {
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
    /** Tasks running now. */
    get running() {
      return running;
    },
    /** Tasks waiting for a slot. */
    get waiting() {
      return waiting.length;
    },
    /** Resolve once nothing runs or waits. */
    idle() {
      if (!running && !waiting.length) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}
