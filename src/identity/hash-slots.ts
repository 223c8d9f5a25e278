// Password hashes run on libuv's thread pool, and a process cannot exit before every job queued there
// has run: a burst of logins at shutdown would hold the exit for seconds past its bound. Only a few
// hashes are handed to the pool at a time; the others wait here, where exiting simply drops them.
// (It also leaves pool threads free for file and DNS work during a burst.)

/** Half the pool (libuv's default is 4 threads). */
const SLOTS = Math.max(1, Math.floor((Number(process.env.UV_THREADPOOL_SIZE) || 4) / 2));

let free = SLOTS;
const waiting: Array<() => void> = [];

/** Runs `job` once a slot is free; a finished job hands its slot straight to the next in line. */
export async function inHashSlot<T>(job: () => Promise<T>): Promise<T> {
  if (free > 0) free--;
  else await new Promise<void>((resolve) => waiting.push(resolve));
  try {
    return await job();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else free++;
  }
}
