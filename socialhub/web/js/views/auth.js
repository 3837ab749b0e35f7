/* Log in and sign up. A session that begins here is announced with a "signed-in" event, which
 * main.js answers by showing the app at the page the URL (or ?next=) names. The sign-up form
 * follows the server's registration mode (GET /api/auth/registration): a token field when one
 * is needed, a notice when registration is closed, and "check your email" when the address is
 * verified before the first log-in. */

import { api } from "../api.js";
import { h, replace } from "../dom.js";

export async function render(container, params) {
  if (params.mode === "done") return renderDone(container);
  const signup = params.mode === "signup";
  const next = safeNext(params.query?.get("next")) || currentPath();
  const registration = signup ? await registrationMode() : null;
  if (registration?.mode === "closed") return renderClosed(container);
  const problem = h("p", { class: "error", role: "alert" });
  const fields = signup
    ? [
        field("signup-username", "Username", { autocomplete: "username", required: true, minLength: 3, maxLength: 32 }, "3-32 letters, digits, _ . or -"),
        field("signup-email", "Email", { type: "email", autocomplete: "email", required: true }),
        field("signup-display", "Display name (optional)", { autocomplete: "nickname", maxLength: 64 }),
        field("signup-password", "Password", { type: "password", autocomplete: "new-password", required: true, minLength: 8 }, "At least 8 characters"),
        registration?.mode === "token"
          ? field("signup-token", "Registration token", { required: true, autocomplete: "off", value: params.query?.get("token") || "" }, "This server registers people an administrator invited")
          : null,
      ]
    : [
        field("login-user", "Username or email", { autocomplete: "username", required: true }),
        field("login-password", "Password", { type: "password", autocomplete: "current-password", required: true }),
      ];
  const button = h("button", { type: "submit", class: "primary" }, signup ? "Sign up" : "Log in");
  const form = h("form", {}, fields, button, problem);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(problem);
    button.disabled = true;
    try {
      const user = signup ? await register(form) : await logIn(form);
      if (signup && registration?.email_verification) return renderCheckMail(container, user);
      window.dispatchEvent(new CustomEvent("signed-in", { detail: { ...user, next } }));
    } catch (error) {
      replace(problem, error.message || "Something went wrong. Try again.");
      button.disabled = false;
    }
  });
  const other = signup
    ? h("p", {}, "Already have an account? ", h("a", { href: withNext("/login", next) }, "Log in"))
    : [
        h("p", {}, "New here? ", h("a", { href: withNext("/signup", next) }, "Create an account")),
        h("p", {}, h("a", { href: "/reset-password" }, "Forgot your password?")),
      ];
  replace(container, h("section", { class: "auth" }, h("h1", {}, signup ? "Sign up" : "Log in"), form, other));
}

/** The server's registration mode; open when it cannot be asked (the form then says why). */
async function registrationMode() {
  try {
    return await api("GET", "/api/auth/registration");
  } catch {
    return { mode: "open", email_verification: false };
  }
}

function renderClosed(container) {
  replace(
    container,
    h(
      "section",
      { class: "auth" },
      h("h1", {}, "Sign up"),
      h("p", {}, "Registration is closed on this server."),
      h("p", {}, "Already have an account? ", h("a", { href: "/login" }, "Log in")),
    ),
  );
}

function renderCheckMail(container, user) {
  replace(
    container,
    h(
      "section",
      { class: "auth" },
      h("h1", {}, "Check your email"),
      h("p", {}, "We sent a link to ", user.email, ". Follow it to verify your address, then log in."),
    ),
  );
}

function renderDone(container) {
  replace(
    container,
    h("section", { class: "auth" }, h("h1", {}, "You are logged in"), h("p", {}, h("a", { href: "/" }, "Go to the feed"), " or ", h("a", { href: "/chat" }, "open the chat"), ".")),
  );
}

/** A labelled input, with its hint when given (the mailed-link views use it too). */
export function field(id, text, attrs, hint) {
  const hintId = hint ? id + "-hint" : null;
  return [
    h("label", { for: id }, text),
    h("input", { id, name: id, ...attrs, "aria-describedby": hintId }),
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
  ];
}

export function value(form, id) {
  return form.querySelector("#" + id).value;
}

function register(form) {
  const body = {
    username: value(form, "signup-username").trim(),
    email: value(form, "signup-email").trim(),
    password: value(form, "signup-password"),
  };
  const display = value(form, "signup-display").trim();
  if (display) body.display_name = display;
  const token = form.querySelector("#signup-token");
  if (token) body.token = token.value.trim();
  return api("POST", "/api/auth/register", body);
}

function logIn(form) {
  const who = value(form, "login-user").trim();
  const body = { password: value(form, "login-password") };
  if (who.includes("@")) body.email = who;
  else body.username = who;
  return api("POST", "/api/auth/login", body);
}

/** The page to show after logging in: the current one, unless it is a log-in or sign-up page. */
function currentPath() {
  const path = location.pathname;
  return path === "/login" || path === "/signup" ? "/" : path + location.search;
}

/** Only a path of this site (never another origin) may be a ?next= target. */
function safeNext(next) {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : null;
}

function withNext(path, next) {
  return next && next !== "/" ? `${path}?next=${encodeURIComponent(next)}` : path;
}
