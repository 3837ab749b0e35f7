/* Boot: who is signed in, then the app shell (header, connection state), the socket and the
 * route. Logged out, every route shows the log-in form (or the sign-up form at /signup) and the
 * URL stays, so logging in lands on the page the link pointed to. */

import { SIGNED_IN_HINT, hinted } from "./boot.js";
import { api, session } from "./api.js";
import { h, replace } from "./dom.js";
import { navigate, onRoute, refresh, startRouter } from "./router.js";
import { connectionState, on, start as startSocket, stop as stopSocket } from "./socket.js";
import { onUnread, refreshNotifications, startUnread } from "./unread.js";
import { startNotify } from "./notify.js";

const app = document.getElementById("app");
const outlet = h("main", { id: "main", tabindex: "-1" });

/** Who is signed in, the socket, the view's module and its first data were started by
 * boot.js on the signed-in hint. On the hint the shell is shown while who is signed in is
 * still asked: its layout and the fonts it needs are done by the time the view's data comes. */
async function boot() {
  const hint = hinted();
  const early = hint ? shell() : null;
  if (early) replace(app, early.header, outlet);
  session.user = hint ? await signedIn() : null;
  if (!session.user) {
    stopSocket(); // the hint was wrong after all
    early?.end();
    replace(app, loggedOutHeader(), outlet);
  } else {
    startUnread(session.user.id);
    startNotify(session.user.id);
  }
  await startRouter(outlet, guard);
}

async function signedIn() {
  try {
    return await api("GET", "/api/auth/me");
  } catch (error) {
    // The session ended while the hint stayed (it expired, or was revoked elsewhere).
    if (error.status === 401) document.cookie = `${SIGNED_IN_HINT}=; Max-Age=0; Path=/; SameSite=Lax`;
    return null;
  }
}

/** Logged out, only /signup and the mailed links are themselves; every other path shows the
 * log-in form. */
function guard(route) {
  if (session.user) {
    if (route && route.view === "auth") return { view: "auth", params: { mode: "done" } };
    return route;
  }
  if (route && (route.view === "auth" || route.view === "account_links")) return route;
  return { view: "auth", params: { mode: "login" } };
}

function loggedOutHeader() {
  return h(
    "header",
    { class: "top" },
    h("a", { class: "brand", href: "/" }, "socialhub"),
    h(
      "nav",
      { "aria-label": "Account" },
      h("ul", {}, h("li", {}, h("a", { href: "/login" }, "Log in")), h("li", {}, h("a", { href: "/signup" }, "Sign up"))),
    ),
  );
}

/** The signed-in header: { header, end }. */
function shell() {
  const chatCount = h("span", { class: "badge", hidden: true });
  const bellCount = h("span", { class: "badge", id: "bell-count", hidden: true });
  // The socket may be live before the shell is up (the boot starts it first).
  const status = h("p", { class: "connection", role: "status" });
  const showState = (state) => {
    status.dataset.state = state;
    status.textContent = { connected: "Connected", reconnecting: "Reconnecting…" }[state] || "Connecting…";
  };
  showState(connectionState());
  const links = [
    h("a", { href: "/" }, "Feed"),
    h("a", { href: "/chat", id: "nav-chat" }, "Chat", chatCount),
    h("a", { href: "/g" }, "Groups"),
    h("a", { href: "/notifications", id: "nav-bell" }, h("span", { "aria-hidden": "true" }, "🔔 "), "Notifications", bellCount),
    h("a", { href: "/settings" }, "Settings"),
  ];
  const logout = h("button", { type: "button", class: "link", onclick: logOut }, "Log out");
  const banners = h("div", { class: "banners", "aria-live": "polite" });
  const toLogIn = () => location.assign("/login");
  window.addEventListener("unauthorized", toLogIn);
  const undo = [
    onUnread(({ messages, notifications }) => {
      showCount(chatCount, messages, "unread messages");
      showCount(bellCount, notifications, "unread notifications");
    }),
    on("state", showState),
    on("logged_out", toLogIn),
    on("broadcast", (frame) => banners.append(banner(frame.content))),
    () => window.removeEventListener("unauthorized", toLogIn),
    onRoute((path) => {
      for (const link of links) {
        const here = link.pathname === path || (link.pathname !== "/" && path.startsWith(link.pathname + "/"));
        if (here) link.setAttribute("aria-current", "page");
        else link.removeAttribute("aria-current");
      }
      refreshNotifications();
    }),
  ];
  const header = h(
    "header",
    { class: "top" },
    h("a", { class: "brand", href: "/" }, "socialhub"),
    h("nav", { "aria-label": "Main" }, h("ul", {}, links.map((link) => h("li", {}, link)), h("li", {}, logout))),
    status,
    banners,
  );
  /** end() unsubscribes it all: the shell shown on a hint that turned out wrong. */
  return { header, end: () => undo.forEach((fn) => fn()) };
}

/** An administrator's announcement, shown until this tab dismisses it. */
function banner(content) {
  const note = h("div", { class: "banner", role: "note" }, h("p", {}, content));
  note.append(h("button", { type: "button", onclick: () => note.remove() }, "Dismiss"));
  return note;
}

function showCount(badge, count, what) {
  badge.hidden = count === 0;
  replace(badge, count > 99 ? "99+" : String(count), h("span", { class: "visually-hidden" }, ` ${what}`));
}

async function logOut() {
  stopSocket();
  try {
    await api("POST", "/api/auth/logout");
  } finally {
    location.assign("/login");
  }
}

/** The auth view says a session began: show the shell and the page the URL names. */
window.addEventListener("signed-in", (event) => {
  session.user = event.detail;
  const next = event.detail.next;
  if (next && next !== location.pathname + location.search) history.replaceState(null, "", next);
  replace(app, shell().header, outlet);
  startSocket();
  startUnread(session.user.id);
  startNotify(session.user.id);
  refresh();
});

/** "?" (outside a text field) lists the keyboard shortcuts; Escape closes the list. */
document.addEventListener("keydown", (event) => {
  if (event.key !== "?" || event.defaultPrevented) return;
  const target = event.target;
  if (target.closest?.("input, textarea, select, [contenteditable]")) return;
  event.preventDefault();
  showShortcuts();
});

function showShortcuts() {
  const close = h("button", { type: "button", onclick: () => dialog.close() }, "Close");
  const rows = [
    ["Enter", "Send the message"],
    ["Shift + Enter", "New line in a message"],
    ["Escape", "Cancel a reply or an edit; in an empty composer, back to the conversations"],
    ["Arrow up / down", "Move between messages (from an empty composer, up goes to the last one)"],
    ["r", "Reply to the focused message"],
    ["+", "Pick a reaction for the focused message (arrow keys move, Enter picks)"],
    ["e", "Edit the focused message, if it is yours"],
    ["?", "This list"],
  ];
  const dialog = h(
    "dialog",
    { class: "shortcuts", "aria-labelledby": "shortcuts-title" },
    h("h2", { id: "shortcuts-title" }, "Keyboard shortcuts"),
    h("dl", {}, rows.map(([key, what]) => [h("dt", {}, h("kbd", {}, key)), h("dd", {}, what)])),
    close,
  );
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

boot();
