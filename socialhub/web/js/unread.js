/* Unread counts outside any one view: conversations (the title, the favicon and the Chat link)
 * and notifications (the bell).
 *
 * The counts are the server's (GET /api/conversations/unread, /api/notifications/unread_count),
 * fetched again after anything that can change them: a message, a `read` frame from any tab or
 * device, a notification, a reconnect. Fetches are coalesced so a burst costs one request.
 */

import { api, coalesce } from "./api.js";
import { connectionState, on } from "./socket.js";

const TITLE = "socialhub";
const listeners = new Set();
let counts = { messages: 0, notifications: 0 };

/** Calls fn({messages, notifications}) now and whenever a count changes. */
export function onUnread(fn) {
  listeners.add(fn);
  fn(counts);
  return () => listeners.delete(fn);
}

function publish(next) {
  if (next.messages === counts.messages && next.notifications === counts.notifications) return;
  counts = next;
  document.title = (counts.messages > 0 ? `(${counts.messages}) ` : "") + TITLE;
  drawFavicon(counts.messages);
  for (const fn of listeners) fn(counts);
}

/** Re-reads the conversation count soon (coalescing calls made in the same moment). Offline
 * it asks nothing: the socket's `resumed`, once back, asks for both counts. */
export const refreshMessages = coalesce(async () => {
  if (!navigator.onLine) return;
  const { messages } = await api("GET", "/api/conversations/unread");
  publish({ ...counts, messages });
});

/** Re-reads the notification count soon; views that mark notifications read call it. */
export const refreshNotifications = coalesce(async () => {
  if (!navigator.onLine) return;
  const { count } = await api("GET", "/api/notifications/unread_count");
  publish({ ...counts, notifications: count });
});

/** Starts following the counts: on every frame that may change them, first of all the
 * socket's `resumed`, which comes on every connect (so the first fetch waits for the socket and
 * stays off the first view's way), or at once if the socket is already live. */
export function startUnread(myId) {
  const refreshBoth = () => {
    refreshMessages();
    refreshNotifications();
  };
  if (connectionState() === "connected") refreshBoth();
  const fromOthers = (frame) => {
    if (frame.from !== myId) refreshMessages();
  };
  on("private", fromOthers);
  on("group", fromOthers);
  on("delete", fromOthers);
  on("read", refreshMessages);
  on("notification", refreshNotifications);
  on("resumed", refreshBoth);
  on("resync", refreshMessages);
}

/** The favicon: a speech bubble, with the unread count on a red disc when there is one. */
function drawFavicon(unread) {
  let link = document.querySelector('link[rel="icon"]');
  if (!link) {
    link = document.createElement("link");
    link.rel = "icon";
    document.head.append(link);
  }
  const label = unread > 99 ? "99+" : String(unread);
  const badge =
    unread > 0
      ? `<circle cx="22" cy="10" r="10" fill="#d62828"/><text x="22" y="14.5" font-size="${
          label.length > 2 ? 9 : 13
        }" font-family="sans-serif" font-weight="bold" text-anchor="middle" fill="#fff">${label}</text>`
      : "";
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
    '<path d="M4 6h18a3 3 0 0 1 3 3v11a3 3 0 0 1-3 3H12l-6 5v-5H4a3 3 0 0 1-3-3V9a3 3 0 0 1 3-3z" fill="#3a6ea5"/>' +
    badge +
    "</svg>";
  link.type = "image/svg+xml";
  link.href = "data:image/svg+xml," + encodeURIComponent(svg);
}
