// Settings (`/settings`): one's own profile (display name, about, avatar, private profile,
// show presence) and the password.

import { h, clear } from "../dom.js";
import { api, session } from "../api.js";
import { notificationState, turnOff, turnOn } from "../notify.js";
import { act, avatar, currentUser, errorNote, upload } from "./feed.js";

/** A status line that screen readers announce when it changes. */
function statusLine() {
  return h("p", { class: "v-note", role: "status" });
}

function avatarField(me) {
  let picked = null;
  let uploaded = null; // the id of `picked` once uploaded: a failed save retries without it
  let removed = false;
  const preview = h("div", { class: "v-avatar-preview" }, avatar(me, "large"));
  const input = h("input", { type: "file", accept: "image/*", name: "avatar" });
  const remove = h("button", { type: "button", hidden: !me.avatar_url }, "Remove avatar");
  const show = (node) => {
    clear(preview);
    preview.append(node);
  };
  input.onchange = () => {
    picked = input.files[0] || null;
    uploaded = null;
    removed = false;
    if (picked)
      show(
        h("img", {
          class: "v-avatar v-avatar-large",
          src: URL.createObjectURL(picked),
          alt: "New avatar preview",
        }),
      );
    remove.hidden = picked === null;
  };
  remove.onclick = () => {
    picked = null;
    removed = true;
    input.value = "";
    show(avatar({ avatar_url: null }, "large"));
    remove.hidden = true;
  };
  const field = h(
    "div",
    { class: "v-avatar-field" },
    preview,
    h("label", {}, "Avatar image", input),
    remove,
  );
  // What PATCH needs: an uploaded id, null to remove, or nothing when unchanged.
  field.change = async () => {
    if (picked) {
      uploaded = uploaded ?? (await upload(picked)).id;
      return { avatar_media_id: uploaded };
    }
    return removed ? { avatar_media_id: null } : {};
  };
  // Saved: the next save leaves the avatar as it now is.
  field.saved = (user) => {
    picked = uploaded = null;
    removed = false;
    input.value = "";
    remove.hidden = !user.avatar_url;
  };
  return field;
}

function profileForm(me) {
  const name = h("input", {
    name: "display_name",
    value: me.display_name,
    required: true,
    maxLength: 64,
    autocomplete: "nickname",
  });
  const about = h("textarea", { name: "about", rows: 4, maxLength: 2000 });
  about.value = me.about;
  const isPrivate = h("input", { type: "checkbox", name: "is_private", checked: me.is_private });
  const presence = h("input", {
    type: "checkbox",
    name: "show_presence",
    checked: me.show_presence,
  });
  const picture = avatarField(me);
  const save = h("button", { type: "submit" }, "Save profile");
  const status = statusLine();
  const form = h(
    "form",
    { class: "v-card", "aria-labelledby": "v-profile-title" },
    h("h2", { id: "v-profile-title" }, "Profile"),
    h("label", {}, "Display name", name),
    h("label", {}, "About you", about),
    picture,
    h("label", { class: "v-check" }, isPrivate, "Private profile (approve who follows you)"),
    h("label", { class: "v-check" }, presence, "Show when I am online"),
    save,
    status,
  );
  form.onsubmit = (event) => {
    event.preventDefault();
    status.textContent = "";
    act(save, async () => {
      const body = {
        display_name: name.value,
        about: about.value,
        is_private: isPrivate.checked,
        show_presence: presence.checked,
        ...(await picture.change()),
      };
      const updated = await api("PATCH", "/api/users/me", body);
      picture.saved(updated);
      if (session.user) Object.assign(session.user, updated);
      status.textContent = "Profile saved.";
    });
  };
  return form;
}

function passwordForm() {
  const current = h("input", {
    type: "password",
    name: "old_password",
    required: true,
    autocomplete: "current-password",
  });
  const next = h("input", {
    type: "password",
    name: "new_password",
    required: true,
    minLength: 8,
    maxLength: 1024,
    autocomplete: "new-password",
  });
  const again = h("input", {
    type: "password",
    name: "confirm_password",
    required: true,
    autocomplete: "new-password",
  });
  const submit = h("button", { type: "submit" }, "Change password");
  const status = statusLine();
  const form = h(
    "form",
    { class: "v-card", "aria-labelledby": "v-password-title" },
    h("h2", { id: "v-password-title" }, "Password"),
    h("label", {}, "Current password", current),
    h("label", {}, "New password (at least 8 characters)", next),
    h("label", {}, "Repeat the new password", again),
    submit,
    status,
  );
  form.onsubmit = (event) => {
    event.preventDefault();
    status.textContent = "";
    act(submit, async () => {
      if (next.value !== again.value) throw new Error("The new passwords differ.");
      try {
        await api("POST", "/api/auth/password", {
          old_password: current.value,
          new_password: next.value,
        });
      } catch (error) {
        if (error.status === 403) throw new Error("The current password is wrong.");
        throw error;
      }
      form.reset();
      status.textContent = "Password changed. Your other sessions were logged out.";
    });
  };
  return form;
}

const NOTIFICATION_STATES = {
  on: ["Browser notifications are on for new messages.", "Turn off browser notifications"],
  off: ["Browser notifications are off.", "Turn on browser notifications"],
  denied: ["This browser blocks notifications from this site (its site settings can allow them).", null],
  unsupported: ["This browser does not show notifications.", null],
};

/** Browser notifications: the permission is asked for by this button's click, never before. */
function notificationsCard() {
  const status = statusLine();
  const toggle = h("button", { type: "button" });
  const show = (state) => {
    const [text, action] = NOTIFICATION_STATES[state];
    status.textContent = text;
    toggle.hidden = action === null;
    toggle.textContent = action || "";
  };
  toggle.onclick = () =>
    act(toggle, async () => {
      if (notificationState() === "on") turnOff();
      else await turnOn();
      show(notificationState());
    });
  show(notificationState());
  return h(
    "section",
    { class: "v-card", "aria-labelledby": "v-notify-title" },
    h("h2", { id: "v-notify-title" }, "Browser notifications"),
    status,
    toggle,
  );
}

export async function render(container) {
  clear(container);
  try {
    const me = await currentUser();
    container.append(h("h1", {}, "Settings"), profileForm(me), notificationsCard(), passwordForm());
  } catch (error) {
    container.append(errorNote(error));
  }
}
