/* The first requests of a page load, started as soon as the smallest part of the module graph
 * is evaluated: who is signed in, the socket, the route's view module and the view's first
 * data, all side by side. main.js imports it first; the answers wait in api.js for the calls
 * that want them. */

import { prefetch } from "./api.js";
import { match, preload } from "./router.js";
import { start as startSocket } from "./socket.js";
import { firstPaths as chatPaths } from "./views/chat_paths.js";

/** Set and cleared by the server with the session cookie, which the page cannot read, and
 * checked by it against the session when it sends the page: the socket can start on it. Who
 * is signed in is still asked; a session ended since (a 401) stops the socket (main.js). */
export const SIGNED_IN_HINT = "socialhub_signed_in";

/** Each view's first GETs, for the views that have some, known without the view's module. */
const FIRST_PATHS = { chat: chatPaths };

export function hinted() {
  return document.cookie.split("; ").includes(`${SIGNED_IN_HINT}=1`);
}

// Logged out (no hint) the page shows the log-in form: nothing is worth asking for ahead.
if (hinted()) {
  startSocket(); // first: its handshake and resume are the longest of these
  prefetch("/api/auth/me");
  const route = match(location.pathname);
  if (route) {
    for (const path of FIRST_PATHS[route.view]?.(route.params) || []) prefetch(path);
    preload(route.view);
  }
}
