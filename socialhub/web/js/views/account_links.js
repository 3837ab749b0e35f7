/* The pages of mailed links: choosing a new password (/reset-password?token=..., or asking for
 * such a link when there is no token) and verifying an email address (/verify-email?token=...).
 * They work logged out; a reset ends every session of the account, this page's included. */

import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { field, value } from "./auth.js";

export function render(container, params) {
  const token = params.query?.get("token") || "";
  if (params.mode === "verify") return renderVerify(container, token);
  return token ? renderReset(container, token) : renderRequest(container);
}

function renderRequest(container) {
  form(container, {
    title: "Reset your password",
    fields: field("reset-email", "Email", { type: "email", autocomplete: "email", required: true }),
    button: "Send the link",
    send: (filled) => api("POST", "/api/auth/password-reset", { email: value(filled, "reset-email").trim() }),
    done: "If an account has this address, a link to choose a new password is on its way. It works for an hour.",
  });
}

function renderReset(container, token) {
  form(container, {
    title: "Choose a new password",
    fields: field("reset-password", "New password", { type: "password", autocomplete: "new-password", required: true, minLength: 8 }, "At least 8 characters"),
    button: "Set the password",
    send: (filled) => api("POST", "/api/auth/password-reset/confirm", { token, password: value(filled, "reset-password") }),
    done: "Your password is changed, and every session of your account has ended.",
  });
}

async function renderVerify(container, token) {
  const status = h("p", { role: "status" }, "Verifying your address…");
  replace(container, section("Verify your email", status));
  try {
    await api("POST", "/api/auth/verify-email", { token });
    replace(status, "Your email address is verified.");
  } catch (error) {
    replace(status, h("span", { class: "error", role: "alert" }, error.message || "This link cannot be used."));
  }
}

/** A one-field form that, once its request succeeded, is replaced by what it did. */
function form(container, { title, fields, button, send, done }) {
  const problem = h("p", { class: "error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary" }, button);
  const element = h("form", {}, fields, submit, problem);
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(problem);
    submit.disabled = true;
    try {
      await send(element);
      replace(container, section(title, h("p", { role: "status" }, done)));
    } catch (error) {
      replace(problem, error.message || "Something went wrong. Try again.");
      submit.disabled = false;
    }
  });
  replace(container, section(title, element));
}

function section(title, ...content) {
  return h("section", { class: "auth" }, h("h1", {}, title), content, h("p", {}, h("a", { href: "/login" }, "Log in")));
}
