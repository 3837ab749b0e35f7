/* History API routing: real URLs, each rendered by one lazily imported view module.
 *
 * A view module exports render(container, params); render may return (or resolve to) a
 * function that is called when the view is left, to unsubscribe what it subscribed.
 */

import { h, replace } from "./dom.js";

const ROUTES = [
  [/^\/$/, "feed", () => ({})],
  [/^\/login$/, "auth", () => ({ mode: "login" })],
  [/^\/signup$/, "auth", () => ({ mode: "signup" })],
  [/^\/reset-password$/, "account_links", () => ({ mode: "reset" })],
  [/^\/verify-email$/, "account_links", () => ({ mode: "verify" })],
  [/^\/chat$/, "chat", () => ({})],
  [/^\/chat\/u\/(\d+)$/, "chat", (m) => ({ kind: "private", id: Number(m[1]) })],
  [/^\/chat\/g\/(\d+)$/, "chat", (m) => ({ kind: "group", id: Number(m[1]) })],
  [/^\/u\/([^/]+)$/, "profile", (m) => ({ username: decodeURIComponent(m[1]) })],
  [/^\/g$/, "groups", () => ({})],
  [/^\/g\/(\d+)$/, "groups", (m) => ({ id: Number(m[1]) })],
  [/^\/posts\/(\d+)$/, "feed", (m) => ({ id: Number(m[1]) })],
  [/^\/notifications$/, "notifications", () => ({})],
  [/^\/settings$/, "settings", () => ({})],
];

/** Paths the server answers itself: links to them are followed, not routed. */
const SERVER_PATHS = /^\/(api|ws|media|static|healthz|metrics)(\/|$)/;

let outlet = null;
let guard = (route) => route;
let leave = null;
let renders = 0;
const listeners = new Set();

/** Which view and params a path shows; null when no route matches. */
export function match(pathname) {
  for (const [pattern, view, params] of ROUTES) {
    const found = pattern.exec(pathname);
    if (found) return { view, params: params(found), path: pathname };
  }
  return null;
}

/** Starts loading a view's module before it is rendered (the boot does it while it asks who
 * is signed in). */
export function preload(view) {
  viewModule(view).catch(() => {}); // the render that follows imports it again and shows the failure
}

/** View modules evaluated already, by view: rendering one of them takes no task of its own,
 * so the view's first content comes with the same frame as the shell, not one frame later. */
const loaded = new Map();

function viewModule(view) {
  return import(`./views/${view}.js`).then((module) => {
    loaded.set(view, module);
    return module;
  });
}

/** Starts routing into the outlet element. guard(route) may swap the route (logged out ->
 * the log-in form). */
export function startRouter(element, routeGuard) {
  outlet = element;
  if (routeGuard) guard = routeGuard;
  window.addEventListener("popstate", () => render(false));
  document.addEventListener("click", followLink);
  return render(false);
}

/** Calls fn(path) after every route change (the shell marks the current nav link). */
export function onRoute(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Goes to a path of this app, adding a history entry unless replace is set. */
export function navigate(path, { replace: replaceEntry = false } = {}) {
  if (replaceEntry) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  return render(true);
}

/** Renders the current route again (after logging in, or a resync). */
export function refresh() {
  return render(false);
}

function followLink(event) {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target.closest?.("a[href]");
  if (!link || link.target || link.hasAttribute("download")) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || SERVER_PATHS.test(url.pathname)) return;
  event.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) {
    navigate(url.pathname + url.search);
  }
}

async function render(moveFocus) {
  renders += 1;
  const mine = renders;
  if (leave) {
    const done = leave;
    leave = null;
    done();
  }
  const container = h("div", { class: "view" });
  replace(outlet, container);
  const query = new URLSearchParams(location.search);
  const route = guard(match(location.pathname));
  for (const fn of listeners) fn(location.pathname);
  if (!route) {
    showNotFound(container);
    return;
  }
  let cleanup;
  try {
    const module = loaded.get(route.view) || (await viewModule(route.view));
    if (mine !== renders) return;
    cleanup = await module.render(container, { ...route.params, query });
  } catch (error) {
    console.warn("view failed", error);
    if (mine === renders) showFailure(container);
    return;
  }
  if (mine !== renders) {
    if (typeof cleanup === "function") cleanup();
    return;
  }
  if (typeof cleanup === "function") leave = cleanup;
  if (moveFocus && !container.contains(document.activeElement)) {
    const heading = container.querySelector("h1");
    const target = heading || outlet;
    if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    target.focus({ preventScroll: true });
  }
}

function showNotFound(container) {
  replace(
    container,
    h("h1", {}, "Page not found"),
    h("p", {}, h("a", { href: "/" }, "Go to the feed")),
  );
}

function showFailure(container) {
  replace(
    container,
    h("h1", {}, "This page could not be shown"),
    h("p", {}, "Check your connection, then ", h("a", { href: location.pathname }, "try again"), "."),
  );
}
