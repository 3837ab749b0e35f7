// Notifications (`/notifications`): newest first, live as they arrive, each a link to its
// thing; mark one or all read; invitations and follow requests answered in place.

import { h, clear } from "../dom.js";
import { api } from "../api.js";
import { on } from "../socket.js";
import { refreshNotifications } from "../unread.js";
import { act, pagedList, when } from "./feed.js";

async function markRead(ids) {
  await api("POST", "/api/notifications/read", ids === undefined ? undefined : { ids });
  refreshNotifications();
}

/** The username of an actor, once per user id per render: links to profiles need it. */
function actorNames() {
  const known = new Map();
  return (id) => {
    if (!known.has(id))
      known.set(
        id,
        api("GET", `/api/users/${id}`).then((user) => user.username),
      );
    return known.get(id);
  };
}

/** Where a notification leads: its post, its group, or the person who caused it. */
async function target(item, usernameOf) {
  if (item.post_id !== undefined) return `/posts/${item.post_id}`;
  if (item.group_id !== undefined) return `/g/${item.group_id}`;
  if (item.actor_id !== undefined)
    return `/u/${encodeURIComponent(await usernameOf(item.actor_id))}`;
  return null;
}

/** Buttons that answer an invitation or a follow request without leaving the list. */
function answers(item) {
  let base = null;
  if (item.type === "group_invite")
    base = [`/api/groups/${item.group_id}/invitation`, "invitation"];
  if (item.type === "friend_request")
    base = [`/api/follow-requests/${item.actor_id}`, "follow request"];
  if (base === null) return null;
  const [path, what] = base;
  const status = h("span", { class: "v-note", role: "status" });
  const row = h("div", { class: "v-actions" });
  for (const [label, verb, done] of [
    ["Accept", "accept", "Accepted."],
    ["Decline", "decline", "Declined."],
  ]) {
    const button = h(
      "button",
      { type: "button", "aria-label": `${label} ${what}: ${item.message}` },
      `${label} ${what}`,
    );
    button.onclick = () =>
      act(button, async () => {
        try {
          await api("POST", `${path}/${verb}`);
        } catch (error) {
          if (error.status !== 404) throw error;
          status.textContent = "Already answered.";
          return;
        }
        for (const other of row.querySelectorAll("button")) other.remove();
        status.textContent = done;
      });
    row.append(button);
  }
  row.append(status);
  return row;
}

function notificationRow(item, usernameOf) {
  const link = h("a", { class: "v-notification-link" }, item.message);
  const row = h("li", { class: item.is_read ? "v-notification" : "v-notification v-unread" });
  const readButton = h(
    "button",
    { type: "button", "aria-label": `Mark read: ${item.message}` },
    "Mark read",
  );
  const unreadNote = h("span", { class: "v-hidden" }, " (unread)");
  const setRead = () => {
    item.is_read = true;
    row.className = "v-notification";
    readButton.remove();
    unreadNote.remove();
  };
  readButton.onclick = () =>
    act(readButton, async () => {
      await markRead([item.id]);
      setRead();
    });
  row.setRead = setRead;
  target(item, usernameOf)
    .then((href) => {
      if (href !== null) link.href = href;
    })
    .catch(() => {});
  // The link is followed by the router; marking read on the way costs the click nothing.
  link.addEventListener("click", () => {
    if (!item.is_read) markRead([item.id]).then(setRead, () => {});
  });
  row.append(
    link,
    unreadNote,
    " ",
    when(item.created_at),
    answers(item),
    item.is_read ? null : readButton,
  );
  return row;
}

/** A live `notification` frame in the shape of the REST list's items. */
function fromFrame(frame) {
  const item = {
    id: frame.id,
    type: frame.subtype,
    message: frame.message,
    is_read: false,
    created_at: new Date(frame.timestamp * 1000).toISOString(),
  };
  for (const key of ["actor_id", "group_id", "post_id", "event_id"])
    if (frame[key] !== undefined) item[key] = frame[key];
  return item;
}

export function render(container) {
  clear(container);
  const usernameOf = actorNames();
  // A frame may arrive while the first page is loading, and be in it too: show each id once.
  const shown = new Set();
  const row = (item) => {
    if (shown.has(item.id)) return null;
    shown.add(item.id);
    return notificationRow(item, usernameOf);
  };
  const list = pagedList("/api/notifications", row, "No notifications yet.", { tag: "ul" });
  const allRead = h("button", { type: "button" }, "Mark all as read");
  allRead.onclick = () =>
    act(allRead, async () => {
      await markRead();
      for (const item of list.list.children) if (item.setRead) item.setRead();
    });
  container.append(h("h1", {}, "Notifications"), h("div", { class: "v-actions" }, allRead), list);
  const stop = on("notification", (frame) => {
    const item = row(fromFrame(frame));
    if (item === null) return;
    list.list.querySelector(".v-empty")?.remove();
    list.list.prepend(item);
  });
  // The router calls this when the view is left.
  return stop;
}
