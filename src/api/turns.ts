// Turns for long work on the one event loop. A request that would hold the loop for tens of
// milliseconds (a list of thousands of ports: its SQL, its conversion, its JSON) cuts itself into
// slices and waits for a turn before each. One turn is granted per event-loop iteration, so between
// any two slices the loop polls its sockets and a short request (a show, a token check) runs to its
// end instead of queueing behind every slice of every long list; the long requests share the
// remaining time round-robin, in the order they asked.
const waiting: Array<() => void> = [];
let pumping = false;

function grantOne(): void {
  const next = waiting.shift();
  if (next) next();
  if (waiting.length) setImmediate(grantOne);
  else pumping = false;
}

/** Resolves when this caller's turn comes: at most one slice of long work runs per loop iteration. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve);
    if (!pumping) {
      pumping = true;
      setImmediate(grantOne);
    }
  });
}
