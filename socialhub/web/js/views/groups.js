// Groups: the list with search and the create form (`/g`), and one group (`/g/<id>`) with
// joining, invitations, members, the owner's join requests, events with RSVP and posts.

import { append, h, clear } from "../dom.js";
import { api } from "../api.js";
import { navigate } from "../router.js";
import {
  act,
  avatar,
  composer,
  count,
  currentUser,
  errorNote,
  findUser,
  pagedList,
  postCard,
  postList,
  userLink,
  when,
} from "./feed.js";

const MEMBERSHIP_LABELS = {
  owner: "You own this group",
  member: "You are a member",
  invited: "You are invited",
  requested: "You asked to join",
};

function groupRow(group) {
  const label = MEMBERSHIP_LABELS[group.membership];
  return h(
    "li",
    { class: "v-group-row" },
    h("a", { href: `/g/${group.id}` }, group.name),
    h("span", { class: "v-muted" }, ` · ${count(group.member_count, "member")}`),
    label ? h("span", { class: "v-tag" }, label) : null,
  );
}

/** A button that runs `action` then draws the view again. */
function actionButton(label, action, rerender, extra = {}) {
  const button = h("button", { type: "button", ...extra }, label);
  button.onclick = () =>
    act(button, async () => {
      await action();
      await rerender();
    });
  return button;
}

function createForm() {
  const name = h("input", { name: "name", required: true, maxLength: 100 });
  const description = h("textarea", { name: "description", rows: 2, maxLength: 2000 });
  const submit = h("button", { type: "submit" }, "Create group");
  const form = h(
    "form",
    { class: "v-card", "aria-label": "Create a group" },
    h("h2", {}, "Create a group"),
    h("label", {}, "Group name", name),
    h("label", {}, "Description", description),
    submit,
  );
  form.onsubmit = (event) => {
    event.preventDefault();
    act(submit, async () => {
      const group = await api("POST", "/api/groups", {
        name: name.value,
        description: description.value,
      });
      navigate(`/g/${group.id}`);
    });
  };
  return form;
}

function renderList(container) {
  const query = h("input", { type: "search", name: "q", maxLength: 1000 });
  const results = h("div", {});
  const search = () => {
    clear(results);
    results.append(
      pagedList(`/api/groups?q=${encodeURIComponent(query.value)}`, groupRow, "No groups found.", {
        tag: "ul",
      }),
    );
  };
  const form = h(
    "form",
    { role: "search", class: "v-search" },
    h("label", {}, "Search groups", query),
    h("button", { type: "submit" }, "Search"),
  );
  form.onsubmit = (event) => {
    event.preventDefault();
    search();
  };
  container.append(h("h1", {}, "Groups"), form, results, createForm());
  search();
}

/** Join, withdraw, accept or decline an invitation, or leave: what fits the membership. */
function membershipActions(group, rerender) {
  const base = `/api/groups/${group.id}`;
  const buttons =
    {
      null: [actionButton("Request to join", () => api("POST", `${base}/join`), rerender)],
      requested: [
        actionButton("Withdraw join request", () => api("POST", `${base}/leave`), rerender),
      ],
      invited: [
        actionButton("Accept invitation", () => api("POST", `${base}/invitation/accept`), rerender),
        actionButton(
          "Decline invitation",
          () => api("POST", `${base}/invitation/decline`),
          rerender,
        ),
      ],
      member: [
        actionButton(
          "Leave group",
          async () => {
            if (window.confirm(`Leave ${group.name}?`)) await api("POST", `${base}/leave`);
          },
          rerender,
          { class: "v-danger" },
        ),
      ],
      owner: [],
    }[String(group.membership)] || [];
  const chat =
    group.membership === "owner" || group.membership === "member"
      ? h("a", { href: `/chat/g/${group.id}`, class: "v-button" }, "Group chat")
      : null;
  return h("div", { class: "v-actions" }, ...buttons, chat);
}

function inviteForm(group, onInvited) {
  const who = h("input", { name: "username", required: true, autocomplete: "off" });
  const submit = h("button", { type: "submit" }, "Invite");
  const status = h("p", { class: "v-note", role: "status" });
  const form = h(
    "form",
    { class: "v-inline-form" },
    h("label", {}, "Invite by username", who),
    submit,
    status,
  );
  form.onsubmit = (event) => {
    event.preventDefault();
    status.textContent = "";
    act(submit, async () => {
      const user = await findUser(who.value.trim().replace(/^@/, ""));
      if (user === null) throw new Error(`Nobody is called @${who.value.trim()}.`);
      const answer = await api("POST", "/api/groups/invite", {
        group_id: group.id,
        user_id: user.id,
      });
      status.textContent =
        answer.status === "member"
          ? `${user.display_name} joined the group.`
          : `${user.display_name} was invited.`;
      who.value = "";
      if (answer.status === "member") onInvited();
    });
  };
  return form;
}

function membersSection(group, rerender) {
  const owner = group.membership === "owner";
  const row = (user) => {
    const item = h("li", { class: "v-person" }, avatar(user), userLink(user));
    if (user.id === group.owner_id) item.append(h("span", { class: "v-tag" }, "Owner"));
    else if (owner) {
      item.append(
        actionButton(
          "Remove",
          async () => {
            if (window.confirm(`Remove ${user.display_name} from the group?`))
              await api("DELETE", `/api/groups/${group.id}/members/${user.id}`);
          },
          rerender,
          { class: "v-danger", "aria-label": `Remove ${user.display_name}` },
        ),
      );
    }
    return item;
  };
  return h(
    "section",
    { class: "v-card" },
    h("h2", {}, `Members (${group.member_count})`),
    pagedList(`/api/groups/${group.id}/members`, row, "No members.", { tag: "ul" }),
    inviteForm(group, rerender),
  );
}

function requestsSection(group, rerender) {
  const row = (request) =>
    h(
      "li",
      { class: "v-person" },
      avatar(request.user),
      userLink(request.user),
      ...[
        ["Accept", "accept"],
        ["Decline", "decline"],
      ].map(([label, verb]) =>
        actionButton(
          label,
          () => api("POST", `/api/groups/${group.id}/requests/${request.user.id}/${verb}`),
          rerender,
          {
            "aria-label": `${label} ${request.user.display_name}`,
          },
        ),
      ),
    );
  return h(
    "section",
    { class: "v-card" },
    h("h2", {}, "Join requests"),
    pagedList(`/api/groups/${group.id}/requests`, row, "No pending requests.", { tag: "ul" }),
  );
}

/** One event with its counts and the viewer's RSVP as two toggle buttons. */
function eventCard(event) {
  const counts = h("p", { class: "v-muted" });
  const buttons = [];
  let current = event;
  const paint = () => {
    counts.textContent = `${current.going_count} going · ${current.not_going_count} not going`;
    for (const button of buttons)
      button.setAttribute("aria-pressed", String(current.my_response === button.value));
  };
  for (const [label, value] of [
    ["Going", "going"],
    ["Not going", "not_going"],
  ]) {
    const button = h("button", { type: "button", value }, label);
    button.onclick = () =>
      act(button, async () => {
        await api("POST", `/api/events/${event.id}/rsvp`, { response: value });
        current = await api("GET", `/api/events/${event.id}`);
        paint();
      });
    buttons.push(button);
  }
  paint();
  return h(
    "li",
    { class: "v-event", "aria-label": event.title },
    h("h3", {}, event.title),
    h("p", {}, "Starts ", when(event.starts_at)),
    event.description ? h("p", { class: "v-text" }, event.description) : null,
    counts,
    h(
      "div",
      { class: "v-actions", role: "group", "aria-label": `Your answer to ${event.title}` },
      ...buttons,
    ),
  );
}

/** RFC 3339 in UTC, whole seconds, from a datetime-local value (the viewer's time zone). */
function toRfc3339(localValue) {
  return new Date(localValue).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function eventsSection(group) {
  const events = pagedList(`/api/groups/${group.id}/events`, eventCard, "No events yet.", {
    tag: "ul",
  });
  const title = h("input", { name: "title", required: true, maxLength: 200 });
  const starts = h("input", { type: "datetime-local", name: "starts_at", required: true });
  const description = h("textarea", { name: "description", rows: 2, maxLength: 2000 });
  const submit = h("button", { type: "submit" }, "Create event");
  const form = h(
    "form",
    { class: "v-inline-form", "aria-label": "Create an event" },
    h("label", {}, "Event title", title),
    h("label", {}, "Starts at", starts),
    h("label", {}, "Event description", description),
    submit,
  );
  form.onsubmit = (submitEvent) => {
    submitEvent.preventDefault();
    act(submit, async () => {
      const created = await api("POST", `/api/groups/${group.id}/events`, {
        title: title.value,
        starts_at: toRfc3339(starts.value),
        description: description.value,
      });
      events.list.querySelector(".v-empty")?.remove();
      events.list.append(eventCard(created));
      title.value = "";
      description.value = "";
    });
  };
  return h("section", { class: "v-card" }, h("h2", {}, "Events"), events, form);
}

async function renderGroup(container, id) {
  const rerender = () => render(container, { id });
  const me = await currentUser();
  let group;
  try {
    group = await api("GET", `/api/groups/${encodeURIComponent(id)}`);
  } catch (error) {
    if (error.status !== 404) throw error;
    container.append(
      h("h1", {}, "Group not found"),
      h("p", {}, h("a", { href: "/g" }, "All groups")),
    );
    return;
  }
  append(container, [
    h("p", {}, h("a", { href: "/g" }, "All groups")),
    h("h1", {}, group.name),
    group.description ? h("p", { class: "v-text" }, group.description) : null,
    h(
      "p",
      { class: "v-muted" },
      count(group.member_count, "member"),
      MEMBERSHIP_LABELS[group.membership] ? ` · ${MEMBERSHIP_LABELS[group.membership]}` : "",
    ),
    membershipActions(group, rerender),
  ]);
  if (group.membership !== "owner" && group.membership !== "member") return;
  if (group.membership === "owner") container.append(requestsSection(group, rerender));
  const posts = postList(`/api/groups/${group.id}/posts`, me, "No posts in this group yet.");
  const write = composer(me, {
    groupId: group.id,
    onPosted: (post) => {
      posts.list.querySelector(".v-empty")?.remove();
      posts.list.prepend(postCard(post, me));
    },
  });
  container.append(
    membersSection(group, rerender),
    eventsSection(group),
    h("section", { class: "v-card" }, h("h2", {}, "Posts"), write, posts),
  );
}

export async function render(container, params = {}) {
  clear(container);
  try {
    if (params.id === undefined) renderList(container);
    else await renderGroup(container, params.id);
  } catch (error) {
    container.append(errorNote(error));
  }
}
