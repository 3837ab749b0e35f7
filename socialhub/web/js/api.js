/* The REST API: one function that sends JSON and returns JSON or throws ApiError. */

/** A non-2xx answer: the contract's {"error", "message"} body, with the status. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

/** The signed-in user (GET /api/auth/me), set by main.js; null when logged out. */
export const session = { user: null };

/**
 * api("POST", "/api/posts", {content}) -> the parsed JSON body (null for 204).
 * A 401 on anything but the auth endpoints means the session ended elsewhere (logged out in
 * another tab, password changed): the page is told with an "unauthorized" event.
 */
export function api(method, path, body) {
  const early = method === "GET" && takePrefetched(path);
  return early || request(method, path, body);
}

/** GETs started ahead of their api() call, by path, with when they started. */
const prefetched = new Map();
// Past this, a prefetched answer may be stale: the api() call that comes later asks again.
const PREFETCH_FRESH_MS = 5000;

/** Starts GET path now for an api("GET", path) call that will follow soon (a view's first data,
 * while the boot asks who is signed in): that call gets this answer rather than asking again. */
export function prefetch(path) {
  const answer = request("GET", path);
  answer.catch(() => {}); // the api() call that takes it handles the failure
  prefetched.set(path, { answer, at: performance.now() });
}

/** Whether a fresh prefetched answer waits for the next api("GET", path). */
export function prefetching(path) {
  const early = prefetched.get(path);
  return Boolean(early) && performance.now() - early.at < PREFETCH_FRESH_MS;
}

function takePrefetched(path) {
  const early = prefetched.get(path);
  prefetched.delete(path);
  return early && performance.now() - early.at < PREFETCH_FRESH_MS ? early.answer : null;
}

async function request(method, path, body) {
  const options = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check your connection.");
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (response.ok) return data;
  if (response.status === 401 && !path.startsWith("/api/auth/")) {
    window.dispatchEvent(new Event("unauthorized"));
  }
  throw new ApiError(
    response.status,
    data?.error || "http_" + response.status,
    data?.message || response.statusText,
  );
}

/** Wraps an async task so that one run is in flight at a time; calls made meanwhile cause
 * one more run after it (a burst of events costs two requests at most). Failures are logged. */
export function coalesce(task) {
  let running = null;
  let again = false;
  const run = async () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await task();
        } catch (error) {
          if (error.status !== 401) console.warn("request failed", error);
        }
      } while (again);
      running = null;
    })();
    return running;
  };
  return run;
}
