// A profile (`/u/<username>`): who they are, their posts, followers and following, and the
// viewer's follow and block controls; on one's own profile the incoming follow requests.

import { h, clear } from "../dom.js";
import { api } from "../api.js";
import {
  act,
  avatar,
  count,
  currentUser,
  errorNote,
  findUser,
  pagedList,
  personRow,
  postList,
  userLink,
} from "./feed.js";

const FOLLOW_BUTTONS = {
  none: ["Follow", "POST"],
  pending: ["Cancel follow request", "DELETE"],
  following: ["Unfollow", "DELETE"],
};

/** Followers or following, fetched when first opened (403 for a private profile). */
function peopleSection(title, path) {
  const body = h("div", {});
  const section = h("details", { class: "v-people" }, h("summary", {}, title), body);
  let loaded = false;
  section.addEventListener("toggle", () => {
    if (!section.open || loaded) return;
    loaded = true;
    body.append(pagedList(path, personRow, "Nobody yet.", { tag: "ul" }));
  });
  return section;
}

async function isBlocked(userId) {
  const blocked = await api("GET", "/api/blocks?limit=100");
  return blocked.some((user) => user.id === userId);
}

/** Follow / unfollow / cancel, block / unblock, and a link to a private chat. */
async function controls(user, rerender) {
  const [label, method] = FOLLOW_BUTTONS[user.follow_status] || FOLLOW_BUTTONS.none;
  const follow = h("button", { type: "button" }, label);
  follow.onclick = () =>
    act(follow, async () => {
      await api(method, `/api/users/${user.id}/follow`);
      await rerender();
    });
  const blocked = await isBlocked(user.id);
  const block = h(
    "button",
    { type: "button", class: blocked ? "" : "v-danger" },
    blocked ? "Unblock" : "Block",
  );
  block.onclick = () =>
    act(block, async () => {
      if (!blocked && !window.confirm(`Block ${user.display_name}? Follows between you both end.`))
        return;
      await api(blocked ? "DELETE" : "POST", `/api/users/${user.id}/block`);
      await rerender();
    });
  const status =
    user.follow_status === "pending" ? h("p", { class: "v-note" }, "Follow request sent.") : null;
  return h(
    "div",
    { class: "v-actions" },
    follow,
    block,
    h("a", { href: `/chat/u/${user.id}`, class: "v-button" }, "Message"),
    status,
  );
}

/** The viewer's incoming follow requests, each to accept or decline. */
function followRequests(rerender) {
  const row = (request) => {
    const item = h("li", { class: "v-person" }, avatar(request.user), userLink(request.user));
    for (const [label, verb] of [
      ["Accept", "accept"],
      ["Decline", "decline"],
    ]) {
      const button = h(
        "button",
        { type: "button", "aria-label": `${label} ${request.user.display_name}` },
        label,
      );
      button.onclick = () =>
        act(button, async () => {
          await api("POST", `/api/follow-requests/${request.user.id}/${verb}`);
          await rerender();
        });
      item.append(button);
    }
    return item;
  };
  return h(
    "section",
    { class: "v-card" },
    h("h2", {}, "Follow requests"),
    pagedList("/api/follow-requests", row, "No pending requests.", { tag: "ul" }),
  );
}

async function renderProfile(container, username) {
  const [me, user] = await Promise.all([currentUser(), findUser(username)]);
  if (user === null) {
    container.append(h("h1", {}, "No such person"), h("p", {}, `Nobody is called @${username}.`));
    return;
  }
  const rerender = () => render(container, { username });
  const own = user.id === me.id;
  const head = h(
    "header",
    { class: "v-profile-head" },
    avatar(user, "large"),
    h(
      "div",
      {},
      h("h1", {}, user.display_name),
      h(
        "p",
        { class: "v-muted" },
        `@${user.username}`,
        user.is_private ? " · Private profile" : "",
      ),
    ),
  );
  container.append(head);
  if (user.about) container.append(h("p", { class: "v-text v-about" }, user.about));
  container.append(
    h(
      "p",
      { class: "v-muted" },
      `${count(user.followers_count, "follower")} · ${user.following_count} following`,
    ),
    own
      ? h(
          "div",
          { class: "v-actions" },
          h("a", { href: "/settings", class: "v-button" }, "Edit profile"),
        )
      : await controls(user, rerender),
  );
  if (own) container.append(followRequests(rerender));
  container.append(
    peopleSection("Followers", `/api/users/${user.id}/followers`),
    peopleSection("Following", `/api/users/${user.id}/following`),
    h("h2", { class: "v-section" }, "Posts"),
    postList(`/api/users/${user.id}/posts`, me, "No posts you can see."),
  );
}

export async function render(container, params = {}) {
  clear(container);
  try {
    await renderProfile(container, params.username);
  } catch (error) {
    container.append(errorNote(error));
  }
}
