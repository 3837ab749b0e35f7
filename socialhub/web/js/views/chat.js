/* Chat: the conversation list (/chat) and one conversation (/chat/u/<user id>, /chat/g/<group id>).
 *
 * The server is the source of truth. The list is fetched again after anything that changes it;
 * a conversation keeps its messages by id, so a frame seen twice (a replay after a reconnect, a
 * resent frame) is shown once, and a message arriving out of order is put in its place.
 */

import { ApiError, api, coalesce, prefetching, session } from "../api.js";
import { h, replace, writtenTime } from "../dom.js";
import { navigate, refresh } from "../router.js";
import { clientId, connectionState, on, send } from "../socket.js";
import { PAGE, historyPath, presencePath, userPath } from "./chat_paths.js";

// The rows in the page at most (some 20 nodes each): however far the reader scrolls, a
// conversation of any length stays under WEB.md's 5,000 nodes.
export const WINDOW = 200;
const EMOJI = ["👍", "❤️", "😂"];
// The picker's choices: the row's quick ones first.
const PICKER_EMOJI = [...EMOJI, "😮", "😢", "🙏", "🎉", "👀"];
const TYPING_SHOWN_MS = 6000;
// A little over the server's one a second, so a frame sent on time is never the one it drops.
const TYPING_EVERY_MS = 1100;
const MAX_LENGTH = 4000;
// Rows of the first page shown before the first paint: a screenful and some, the rest after.
const FIRST_ROWS = 15;
// A hidden tab runs no animation frames: the rest of the first page waits at most this long.
const HIDDEN_PAINT_MS = 100;

export function render(container, params) {
  return params.kind ? renderConversation(container, params) : renderList(container);
}

/* ---- People: names by id, fetched once per page load ---- */

const people = new Map();

function person(id) {
  if (!people.has(id)) {
    people.set(id, api("GET", userPath(id)).catch(() => ({ id, username: `user ${id}`, display_name: "" })));
  }
  return people.get(id);
}

function nameOf(user) {
  return user.display_name || user.username;
}

/** A span that shows a person's name once it is known. */
function personName(id, className) {
  const span = h("span", { class: className }, "…");
  person(id).then((user) => {
    span.textContent = nameOf(user);
  });
  return span;
}

/** "online"/"offline" for the given user ids (the server hides what the viewer may not see). */
async function presenceOf(ids) {
  if (ids.length === 0) return {};
  return api("GET", presencePath(ids));
}

/** A dot and the word "online" or "offline" (the list hides the word but for screen readers). */
function presenceMark(userId, status) {
  const online = status === "online";
  return h(
    "span",
    { class: "presence-mark", "data-presence": String(userId) },
    h("span", { class: "dot" + (online ? " online" : "") }),
    h("span", { class: "presence-label" }, online ? "online" : "offline"),
  );
}

function showPresence(root, frame) {
  for (const mark of root.querySelectorAll(`[data-presence="${Number(frame.user)}"]`)) {
    const online = frame.status === "online";
    mark.firstChild.classList.toggle("online", online);
    mark.lastChild.textContent = online ? "online" : "offline";
  }
}

/** Unsubscribes every socket handler and listener of a view at once. */
function subscriptions() {
  const undo = [];
  return {
    on(type, fn) {
      undo.push(on(type, fn));
    },
    listen(target, type, fn) {
      target.addEventListener(type, fn);
      undo.push(() => target.removeEventListener(type, fn));
    },
    add(fn) {
      undo.push(fn);
    },
    end() {
      for (const fn of undo.splice(0)) fn();
    },
  };
}

/* ---- The conversation list ---- */

function renderList(container) {
  const me = session.user.id;
  const list = h("ul", { class: "conversations", "aria-label": "Conversations" });
  const status = h("p", { class: "loading" }, "Loading conversations…");
  replace(container, h("section", {}, h("h1", {}, "Chat"), status, list, startChat(me)));
  const subs = subscriptions();
  const load = coalesce(async () => {
    const conversations = await api("GET", "/api/conversations?limit=100");
    const ids = conversations.filter((c) => c.user).map((c) => c.user.id);
    const presence = await presenceOf(ids);
    status.hidden = conversations.length > 0;
    status.textContent = "No conversations yet. Find someone below to start one.";
    replace(list, conversations.map((c) => conversationItem(c, me, presence)));
  });
  load();
  for (const type of ["private", "group", "edit", "delete", "read", "resumed", "resync"]) subs.on(type, load);
  subs.on("presence", (frame) => showPresence(list, frame));
  return () => subs.end();
}

function conversationItem(conversation, me, presence) {
  const { user, group, last_message: last, unread_count: unread } = conversation;
  const href = user ? `/chat/u/${user.id}` : `/chat/g/${group.id}`;
  const marker = user
    ? presenceMark(user.id, presence[user.id])
    : h("span", { class: "dot group" }, h("span", { class: "visually-hidden" }, "group"));
  return h(
    "li",
    { class: unread > 0 ? "unread" : "" },
    h(
      "a",
      { href },
      marker,
      h("span", { class: "name" }, user ? nameOf(user) : group.name),
      unread > 0 ? h("span", { class: "badge" }, String(unread), h("span", { class: "visually-hidden" }, " unread")) : h("span"),
      h("span", { class: "last" }, preview(last, me)),
    ),
  );
}

function preview(message, me) {
  if (!message) return "No messages yet";
  const text = message.deleted ? "Message deleted" : message.content;
  return (message.from === me ? "You: " : "") + text.slice(0, 200);
}

/** A search for people, each a link to a chat with them. */
function startChat(me) {
  const input = h("input", { id: "people-search", type: "search", autocomplete: "off" });
  const results = h("ul", { class: "people", "aria-label": "People found" });
  const form = h(
    "form",
    { class: "start-chat", role: "search" },
    h("label", { for: "people-search" }, "Start a chat: find people"),
    h("div", { class: "row" }, input, h("button", { type: "submit" }, "Search")),
    results,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const q = input.value.trim();
    if (!q) return;
    try {
      const found = (await api("GET", `/api/users?q=${encodeURIComponent(q)}&limit=20`)).filter((u) => u.id !== me);
      replace(
        results,
        found.length
          ? found.map((u) => h("li", {}, h("a", { href: `/chat/u/${u.id}` }, nameOf(u), " (@", u.username, ")")))
          : h("li", {}, "Nobody found."),
      );
    } catch (error) {
      replace(results, h("li", { class: "error" }, error.message));
    }
  });
  return form;
}

/* ---- One conversation ---- */

function renderConversation(container, { kind, id }) {
  const me = session.user.id;
  const isPrivate = kind === "private";
  const target = isPrivate ? { to: id } : { group_id: String(id) };
  const subs = subscriptions();
  // A message stored after a prefetched page was read, and sent on the socket before this
  // view subscribed, is in neither: the newest page is asked for again once the view is open.
  // While the socket has not resumed yet, its `resumed` does that (below).
  const afterPrefetch = prefetching(historyPath(kind, id, null)) && connectionState() === "connected";
  // Every message the view holds, by id: the rows in the page and those in `below`.
  const rows = new Map();
  // Rows newer than the page's, taken out of it while the reader is up the history, oldest
  // first. They are kept as data: the history endpoints only page backwards.
  const below = [];
  const waiting = new Map();
  let oldest = null;
  let hasOlder = true;
  let loadingOlder = false;
  let newestOther = 0;
  let readSent = 0;
  let replyTo = null;

  const title = h("h1", {}, isPrivate ? personName(id) : "Group chat");
  const presence = h("span", { class: "presence" });
  const older = h("button", { type: "button", class: "older", hidden: true, onclick: () => loadOlder() }, "Load older messages");
  // The log wraps the list: a list item needs a list around it, and role="log" on the list
  // itself would take its list semantics away.
  const log = h("ol", { class: "message-list" });
  const scroller = h(
    "div",
    { class: "messages", role: "log", "aria-labelledby": "conversation-title", tabindex: "0" },
    log,
  );
  title.id = "conversation-title";
  const typing = h("p", { class: "typing" });
  const problem = h("p", { class: "problem error", role: "alert" });
  const input = h("textarea", { id: "composer", rows: 2, autocomplete: "off", enterKeyHint: "send" });
  const replying = h("div", { class: "replying", hidden: true });
  const composer = h(
    "form",
    { class: "composer" },
    replying,
    h("label", { for: "composer" }, "Message"),
    input,
    h("button", { type: "submit", class: "primary" }, "Send"),
    problem,
  );
  replace(
    container,
    h(
      "section",
      { class: "conversation" },
      h("header", {}, h("a", { href: "/chat", class: "back" }, h("span", { "aria-hidden": "true" }, "← "), "Conversations"), title, presence),
      older,
      scroller,
      typing,
      composer,
    ),
  );

  /* Rows: one per message, kept by id. */

  function row(message, pending = false) {
    const entry = { message, pending, failed: null, reactions: new Map(), editing: false, picker: null, li: h("li", { class: "msg", tabindex: "-1" }) };
    for (const r of message.reactions || []) entry.reactions.set(r.emoji, { count: r.count, mine: r.mine });
    paint(entry);
    return entry;
  }

  function paint(entry) {
    if (entry.shelved) return;
    const { message, li } = entry;
    const mine = message.from === me;
    li.className = ["msg", mine && "mine", message.deleted && "deleted", entry.pending && "pending", entry.failed && "failed"]
      .filter(Boolean)
      .join(" ");
    if (message.id) li.dataset.id = String(message.id);
    // A repaint replaces the row's insides: focus in them stays in the row, never lost.
    const focused = li.contains(document.activeElement) && document.activeElement !== li ? document.activeElement : null;
    const when = new Date(message.timestamp * 1000);
    const meta = h(
      "div",
      { class: "meta" },
      mine ? h("span", { class: "author" }, "You") : personName(message.from, "author"),
      h("time", { dateTime: when.toISOString() }, writtenTime(when)),
      message.edited && !message.deleted ? h("span", {}, "(edited)") : null,
      entry.pending ? h("span", {}, "Sending…") : null,
      entry.failed ? h("span", { class: "error" }, "Not sent: ", entry.failed) : null,
    );
    replace(
      li,
      meta,
      message.reply_to && !message.deleted ? h("p", { class: "quote" }, "↪ ", quoteOf(message.reply_to)) : null,
      entry.editing ? editor(entry) : h("p", { class: "text" }, message.deleted ? "This message was deleted." : message.content),
      message.deleted ? null : reactionChips(entry),
      message.id && !message.deleted && !entry.editing ? actions(entry, mine) : null,
      message.deleted ? null : entry.picker,
    );
    if (focused) (focused.isConnected ? focused : li).focus();
  }

  function quoteOf(messageId) {
    const quoted = rows.get(messageId);
    if (!quoted) return "an earlier message";
    if (quoted.message.deleted) return "a deleted message";
    return quoted.message.content.slice(0, 120);
  }

  function reactionChips(entry) {
    if (entry.reactions.size === 0) return null;
    return h(
      "div",
      { class: "reactions" },
      [...entry.reactions].map(([emoji, { count, mine }]) =>
        h("button", { type: "button", "aria-pressed": String(mine), onclick: () => react(entry, emoji) }, `${emoji} ${count}`),
      ),
    );
  }

  function actions(entry, mine) {
    return h(
      "div",
      { class: "actions" },
      h("button", { type: "button", onclick: () => startReply(entry) }, "Reply"),
      EMOJI.map((emoji) => h("button", { type: "button", "aria-label": `React ${emoji}`, title: `React ${emoji}`, onclick: () => react(entry, emoji) }, emoji)),
      h("button", { type: "button", "aria-expanded": String(Boolean(entry.picker)), onclick: () => (entry.picker ? closePicker(entry) : openPicker(entry)) }, "More reactions"),
      mine ? h("button", { type: "button", onclick: () => startEdit(entry) }, "Edit") : null,
      mine ? h("button", { type: "button", onclick: () => remove(entry) }, "Delete") : null,
    );
  }

  function editor(entry) {
    const box = h("textarea", { "aria-label": "Edit message", value: entry.message.content });
    const save = () => {
      const content = box.value;
      if (!validContent(content)) return;
      request({ type: "edit", message_id: entry.message.id, content }, () => {
        applyEdit(entry, content);
      });
      stopEdit(entry);
    };
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        save();
      } else if (event.key === "Escape") {
        event.preventDefault();
        stopEdit(entry);
      }
    });
    queueMicrotask(() => box.focus());
    return h(
      "div",
      { class: "edit-box" },
      box,
      h("button", { type: "button", onclick: save }, "Save"),
      h("button", { type: "button", onclick: () => stopEdit(entry) }, "Cancel"),
    );
  }

  /** A toolbar of reactions: arrow keys move along it, Enter picks, Escape closes it; focus
   * goes back to the row either way. */
  function openPicker(entry) {
    if (entry.picker) {
      entry.picker.querySelector("button").focus();
      return;
    }
    const choices = PICKER_EMOJI.map((emoji, index) =>
      h("button", { type: "button", "aria-label": `React ${emoji}`, tabindex: index ? "-1" : "0", onclick: () => pick(emoji) }, emoji),
    );
    const pick = (emoji) => {
      react(entry, emoji);
      closePicker(entry);
    };
    entry.picker = h("div", { class: "picker", role: "toolbar", "aria-label": "Pick a reaction" }, choices);
    entry.picker.addEventListener("keydown", (event) => {
      const at = choices.indexOf(event.target);
      const moves = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: choices.length - 1 };
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        closePicker(entry);
      } else if (event.key in moves) {
        event.preventDefault();
        const next = choices[(moves[event.key] + choices.length) % choices.length];
        for (const choice of choices) choice.tabIndex = choice === next ? 0 : -1;
        next.focus();
      }
    });
    paint(entry);
    choices[0].focus();
  }

  function closePicker(entry) {
    entry.picker = null;
    paint(entry);
    entry.li.focus();
  }

  function startEdit(entry) {
    entry.editing = true;
    paint(entry);
  }

  function stopEdit(entry) {
    entry.editing = false;
    paint(entry);
    entry.li.focus();
  }

  /** Puts a row in id order: before any newer row, and before rows still being sent. */
  function place(entry) {
    remember(entry);
    const messageId = entry.message.id;
    let after = log.lastElementChild;
    while (after && (!after.dataset.id || Number(after.dataset.id) > messageId)) after = after.previousElementSibling;
    if (after) after.after(entry.li);
    else log.prepend(entry.li);
  }

  function remember(entry) {
    rows.set(entry.message.id, entry);
    if (entry.message.from !== me && !entry.message.deleted) newestOther = Math.max(newestOther, entry.message.id);
  }

  /** A message the page does not hold yet: placed when the page reaches the newest row, else
   * kept below until the reader scrolls down to it. */
  function add(entry) {
    if (below.length === 0) {
      place(entry);
      return;
    }
    remember(entry);
    shelve(entry);
    const at = below.findIndex((other) => other.message.id > entry.message.id);
    below.splice(at < 0 ? below.length : at, 0, entry);
  }

  /** Takes a row out of the page, keeping its data (its element is emptied). */
  function shelve(entry) {
    entry.li.remove();
    replace(entry.li);
    entry.shelved = true;
  }

  function unshelve(entry) {
    entry.shelved = false;
    paint(entry);
    place(entry);
  }

  /** A message seen for the first time (live, or caught up): followed at the bottom. */
  function arrive(message) {
    if (rows.has(message.id)) return;
    const stick = below.length === 0 && atBottom();
    add(row(message));
    if (stick) {
      dropOldest();
      toBottom();
    } else {
      trimNewest();
    }
  }

  /** Past WINDOW rows, the oldest leave the page and the view (scrolling up loads them again
   * from history); the reader is at or near the newest rows. */
  function dropOldest() {
    const top = scroller.scrollTop;
    const height = scroller.scrollHeight;
    while (log.childElementCount > WINDOW && log.firstElementChild.dataset.id) {
      const first = log.firstElementChild;
      rows.delete(Number(first.dataset.id));
      first.remove();
      oldest = Number(log.firstElementChild.dataset.id) || oldest;
      hasOlder = true;
      older.hidden = false;
    }
    scroller.scrollTop = top - (height - scroller.scrollHeight);
  }

  /** Past WINDOW rows, the newest leave the page for `below`; the reader is up the history. */
  function trimNewest() {
    let last = log.lastElementChild;
    while (log.childElementCount > WINDOW && last) {
      const previous = last.previousElementSibling;
      if (last.dataset.id) {
        const entry = rows.get(Number(last.dataset.id));
        shelve(entry);
        below.unshift(entry);
      }
      last = previous;
    }
  }

  /** Scrolling down: the next rows of `below` come back, the oldest leave. */
  function showNewer() {
    for (const entry of below.splice(0, PAGE)) unshelve(entry);
    dropOldest();
  }

  /** The newest WINDOW rows alone in the page (before sending: a sent message shows at the
   * bottom, below the newest ones). */
  function showNewest() {
    if (below.length === 0) return;
    const kept = below.splice(-WINDOW);
    for (const entry of below.splice(0)) rows.delete(entry.message.id);
    for (const li of [...log.children]) {
      if (!li.dataset.id) continue;
      rows.delete(Number(li.dataset.id));
      li.remove();
    }
    for (const entry of kept) unshelve(entry);
    oldest = kept[0].message.id;
    hasOlder = true;
    older.hidden = false;
  }

  function atBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }

  function toBottom() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  /* History. */

  /** The page of history before the oldest row. The first one shows its newest `firstRows`
   * at once and the rest after the next paint: a whole page's layout would hold back the
   * first sight of the conversation. */
  async function loadOlder(firstRows = PAGE) {
    if (loadingOlder || !hasOlder) return;
    loadingOlder = true;
    try {
      const items = await api("GET", historyPath(kind, id, oldest));
      showOlder(items.slice(0, firstRows));
      if (items.length > firstRows) {
        await afterPaint();
        showOlder(items.slice(firstRows));
      }
      hasOlder = items.length === PAGE;
      older.hidden = !hasOlder;
    } catch (error) {
      showLoadError(error);
    } finally {
      loadingOlder = false;
    }
  }

  /** Older messages above the rows, the rows staying where they are on the screen (an empty
   * log is thus scrolled to its bottom). An empty log's layout is not read before: that would
   * lay the page out twice in the first render, once without its rows. */
  function showOlder(items) {
    const empty = log.childElementCount === 0;
    const height = empty ? 0 : scroller.scrollHeight;
    const top = empty ? 0 : scroller.scrollTop;
    for (const message of items) {
      if (!rows.has(message.id)) place(row(message));
      oldest = oldest === null ? message.id : Math.min(oldest, message.id);
    }
    scroller.scrollTop = top + (scroller.scrollHeight - height);
    trimNewest(); // below what is shown: the position stays
  }

  function showLoadError(error) {
    const text =
      error instanceof ApiError && error.status === 404
        ? isPrivate ? "There is no such person." : "There is no such group."
        : error instanceof ApiError && error.status === 403
          ? "You are not a member of this group."
          : error.message;
    replace(problem, text);
  }

  /* Sending. */

  function validContent(content) {
    if (!content.trim()) return false;
    if ([...content].length > MAX_LENGTH) {
      replace(problem, `A message is at most ${MAX_LENGTH} characters.`);
      return false;
    }
    replace(problem);
    return true;
  }

  /** Sends a frame that the server acks; onAck runs with the ack, or the error is shown. */
  function request(frame, onAck, onError) {
    const frameId = clientId();
    waiting.set(frameId, { onAck, onError });
    send({ ...frame, id: frameId });
    return frameId;
  }

  function sendMessage() {
    const content = input.value;
    if (!validContent(content)) return;
    const frame = { type: kind, ...target, content };
    if (replyTo) frame.reply_to = replyTo;
    const entry = row({ type: kind, from: me, ...target, content, reply_to: replyTo, timestamp: Date.now() / 1000 }, true);
    showNewest();
    log.append(entry.li);
    toBottom();
    input.value = "";
    cancelReply();
    request(
      frame,
      (ack) => {
        entry.pending = false;
        if (rows.has(ack.message_id)) {
          entry.li.remove();
          return;
        }
        entry.message = { ...entry.message, id: ack.message_id, timestamp: ack.timestamp };
        entry.li.remove();
        add(entry);
        paint(entry);
      },
      (error) => {
        entry.pending = false;
        entry.failed = error.message || error.code;
        paint(entry);
      },
    );
  }

  function react(entry, emoji) {
    const on = !entry.reactions.get(emoji)?.mine;
    request({ type: "reaction", message_id: entry.message.id, emoji, on }, () => applyReaction(entry, emoji, on, true));
  }

  function remove(entry) {
    request({ type: "delete", message_id: entry.message.id }, () => applyDelete(entry));
  }

  function startReply(entry) {
    replyTo = entry.message.id;
    replace(
      replying,
      h("span", {}, "Replying to: ", entry.message.content.slice(0, 120)),
      h("button", { type: "button", onclick: cancelReply }, "Cancel reply"),
    );
    replying.hidden = false;
    input.focus();
  }

  function cancelReply() {
    replyTo = null;
    replying.hidden = true;
    replace(replying);
  }

  /* Changes to rows, from acks and from frames. */

  function applyReaction(entry, emoji, turnedOn, byMe) {
    const current = entry.reactions.get(emoji) || { count: 0, mine: false };
    if (byMe && current.mine === turnedOn) return;
    const count = current.count + (turnedOn ? 1 : -1);
    if (count <= 0) entry.reactions.delete(emoji);
    else entry.reactions.set(emoji, { count, mine: byMe ? turnedOn : current.mine });
    paint(entry);
  }

  function applyEdit(entry, content, editedAt) {
    entry.message = { ...entry.message, content, edited: true, edited_at: editedAt };
    paint(entry);
  }

  function applyDelete(entry) {
    entry.message = { ...entry.message, deleted: true, content: "", reply_to: null };
    entry.reactions.clear();
    paint(entry);
  }

  /* Typing. */

  const typists = new Map();
  let lastTyping = 0;
  let typingTimer = 0;

  function showTyping() {
    const names = [...typists.keys()];
    if (names.length === 0) {
      replace(typing);
      return;
    }
    Promise.all(names.map(person)).then((users) => {
      if (typists.size === 0) return;
      const list = users.map(nameOf).join(", ");
      replace(typing, `${list} ${users.length > 1 ? "are" : "is"} typing…`);
    });
  }

  function stopTyping(from) {
    if (!typists.has(from)) return;
    clearTimeout(typists.get(from));
    typists.delete(from);
    showTyping();
  }

  function belongs(frame) {
    if (isPrivate) {
      return (Number(frame.from) === id && Number(frame.to) === me) || (Number(frame.from) === me && Number(frame.to) === id);
    }
    return String(frame.group_id) === String(id);
  }

  /* Read state: the newest message of others, once this tab shows it. */

  async function markRead() {
    if (document.visibilityState !== "visible" || newestOther <= readSent) return;
    const upTo = newestOther;
    readSent = upTo;
    const body = isPrivate ? { user: id, up_to: upTo } : { group: id, up_to: upTo };
    try {
      await api("POST", "/api/conversations/read", body);
    } catch {
      readSent = 0;
    }
  }

  /* Frames. */

  subs.on("ack", (frame) => {
    const pending = waiting.get(frame.id);
    if (!pending) return;
    waiting.delete(frame.id);
    pending.onAck(frame);
  });
  subs.on("error", (frame) => {
    const pending = frame.id && waiting.get(frame.id);
    if (!pending) return;
    waiting.delete(frame.id);
    if (pending.onError) pending.onError(frame);
    else replace(problem, frame.message || frame.code);
  });
  const message = (frame) => {
    if (!belongs(frame) || rows.has(frame.id)) return;
    arrive(frame);
    stopTyping(frame.from);
    markRead();
  };
  subs.on("private", message);
  subs.on("group", message);
  subs.on("edit", (frame) => {
    const entry = rows.get(frame.message_id);
    if (entry) applyEdit(entry, frame.content, frame.edited_at);
  });
  subs.on("delete", (frame) => {
    const entry = rows.get(frame.message_id);
    if (entry) applyDelete(entry);
  });
  subs.on("reaction", (frame) => {
    const entry = rows.get(frame.message_id);
    if (entry) applyReaction(entry, frame.emoji, frame.on, frame.from === me);
  });
  subs.on("typing", (frame) => {
    if (!belongs(frame) || frame.from === me) return;
    clearTimeout(typists.get(frame.from));
    typists.set(frame.from, setTimeout(() => stopTyping(frame.from), TYPING_SHOWN_MS));
    showTyping();
  });
  subs.on("resync", () => refresh());
  subs.on("presence", (frame) => showPresence(presence, frame));
  subs.add(() => {
    for (const timer of typists.values()) clearTimeout(timer);
  });
  subs.listen(document, "visibilitychange", markRead);

  /* Keys: Enter sends, Shift+Enter is a new line, Escape cancels a reply or goes back, arrows
   * move between messages. */

  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    sendMessage();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendMessage();
    } else if (event.key === "Escape") {
      event.preventDefault();
      if (replyTo) cancelReply();
      else if (!input.value) navigate("/chat");
    } else if (event.key === "ArrowUp" && !input.value && log.lastElementChild) {
      event.preventDefault();
      log.lastElementChild.focus();
    }
  });
  /** At most one typing frame a second while there is text; a keystroke inside the second is
   * sent at its end, so the other side never misses that typing went on. */
  function announceTyping() {
    if (typingTimer || !input.value.trim()) return;
    const wait = lastTyping + TYPING_EVERY_MS - Date.now();
    if (wait > 0) {
      typingTimer = setTimeout(() => {
        typingTimer = 0;
        announceTyping();
      }, wait);
      return;
    }
    lastTyping = Date.now();
    send({ type: "typing", ...target }, { reliable: false });
  }
  input.addEventListener("input", announceTyping);
  subs.add(() => clearTimeout(typingTimer));
  scroller.addEventListener("keydown", (event) => {
    if (event.target.closest("textarea, input")) return;
    const current = event.target.closest("li");
    if (current && event.target === current && rowKey(event, rows.get(Number(current.dataset.id)))) {
      event.preventDefault();
    } else if (event.key === "ArrowUp" || event.key === "ArrowDown") {
      event.preventDefault();
      const next = !current
        ? log.lastElementChild
        : event.key === "ArrowUp"
          ? current.previousElementSibling
          : current.nextElementSibling;
      if (next) next.focus();
      else if (event.key === "ArrowDown") input.focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      input.focus();
    }
  });
  /** A focused row's own keys: r replies, + picks a reaction, e edits one's own message. */
  function rowKey(event, entry) {
    if (!entry || !entry.message.id || entry.message.deleted || event.ctrlKey || event.metaKey || event.altKey) return false;
    if (event.key === "r") startReply(entry);
    else if (event.key === "+") openPicker(entry);
    else if (event.key === "e" && entry.message.from === me) startEdit(entry);
    else return false;
    return true;
  }
  scroller.addEventListener("scroll", () => {
    if (scroller.scrollTop < 200) loadOlder();
    else if (below.length > 0 && scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 200) showNewer();
  });

  /* Open: the name, presence, the newest page of history, then read. */

  (async () => {
    if (isPrivate) {
      const [status] = await Promise.all([presenceOf([id]).catch(() => ({})), person(id)]);
      replace(presence, presenceMark(id, status[id]));
    } else {
      api("GET", `/api/groups/${id}`)
        .then((group) => replace(title, group.name))
        .catch(() => {});
    }
  })();
  input.focus();
  const opened = loadOlder(FIRST_ROWS).then(() => {
    toBottom();
    markRead();
    if (afterPrefetch) catchUp();
  });

  /** The newest page again, for messages that came by neither the first history page nor the
   * socket: after a prefetched page (above), and at each `resumed`, for those stored between
   * the first history request and the socket's start. Asked at once, even while the first
   * page is being shown: its answer waits for that page. */
  async function catchUp() {
    const newest = api("GET", historyPath(kind, id, null));
    newest.catch(() => {}); // handled below, once the first page is shown
    await opened;
    try {
      const items = await newest;
      for (const message of items.reverse()) if (oldest !== null && message.id > oldest) arrive(message);
      markRead();
    } catch (error) {
      showLoadError(error);
    }
  }
  subs.on("resumed", catchUp);
  return () => subs.end();
}

/** Resolves once the browser has painted what is in the page now (or soon, in a hidden tab,
 * which paints nothing). */
function afterPaint() {
  return new Promise((resolve) => {
    requestAnimationFrame(() => setTimeout(resolve));
    setTimeout(resolve, HIDDEN_PAINT_MS);
  });
}
