// The feed (`/`) and a post's own page (`/posts/<id>`), plus the pieces every view that
// shows posts shares: the composer, the post card with likes and comments, user links.
// Everything from the server is rendered as text through h(): never as markup.

import { append, h, clear, writtenTime } from "../dom.js";
import { api } from "../api.js";

const PAGE = 20;
const MAX_IMAGES = 4;

/** The logged-in user, fresh each time: settings may have changed the name or avatar. */
export function currentUser() {
  return api("GET", "/api/auth/me");
}

/** A paragraph that announces an error to screen readers at once. */
export function errorNote(error) {
  return h(
    "p",
    { class: "v-error", role: "alert" },
    error && error.message ? error.message : String(error),
  );
}

/** Run an action from a button: disabled while it runs, its error shown next to it. */
export async function act(button, action) {
  const row = button.parentNode;
  const old = row && row.querySelector(":scope > .v-error");
  if (old) old.remove();
  button.disabled = true;
  try {
    await action();
  } catch (error) {
    if (button.isConnected) button.after(errorNote(error));
  } finally {
    button.disabled = false;
  }
}

/** "1 like", "2 likes": a count and its noun. */
export function count(n, noun) {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

export function when(iso) {
  return h("time", { dateTime: iso }, writtenTime(new Date(iso)));
}

export function avatar(user, size = "small") {
  if (!user.avatar_url)
    return h("span", { class: `v-avatar v-avatar-${size} v-avatar-none`, "aria-hidden": "true" });
  return h("img", { class: `v-avatar v-avatar-${size}`, src: user.avatar_url, alt: "" });
}

export function userLink(user) {
  return h(
    "a",
    { href: `/u/${encodeURIComponent(user.username)}`, class: "v-user" },
    user.display_name,
  );
}

/** A person in a list: avatar, name linking to the profile, @username. */
export function personRow(user) {
  return h(
    "li",
    { class: "v-person" },
    avatar(user),
    userLink(user),
    h("span", { class: "v-muted" }, ` @${user.username}`),
  );
}

/** The full user named `username` (any case), or null: search, then the exact match. */
export async function findUser(username) {
  const wanted = username.toLowerCase();
  const found = await api("GET", `/api/users?q=${encodeURIComponent(username)}&limit=100`);
  const match = found.find((user) => user.username.toLowerCase() === wanted);
  return match ? api("GET", `/api/users/${match.id}`) : null;
}

/** Upload one image file; the server re-encodes it and answers its id and URL. */
export async function upload(file) {
  const form = new FormData();
  form.append("file", file);
  const response = await fetch("/api/media", {
    method: "POST",
    body: form,
    credentials: "same-origin",
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.message || `Upload failed (${response.status})`);
  return body;
}

/** A list with a "Load more" button that pages through `path` with limit/offset. */
export function pagedList(path, item, empty, { tag = "div", pageSize = PAGE } = {}) {
  const list = h(tag, { class: "v-list" });
  const more = h("button", { type: "button", class: "v-more", hidden: true }, "Load more");
  const wrap = h("div", {}, list, more);
  let offset = 0;
  async function load() {
    const sep = path.includes("?") ? "&" : "?";
    const rows = await api("GET", `${path}${sep}limit=${pageSize}&offset=${offset}`);
    offset += rows.length;
    for (const row of rows) {
      const node = item(row);
      if (node !== null) list.append(node);
    }
    more.hidden = rows.length < pageSize;
    if (list.childElementCount === 0)
      list.append(h(tag === "ul" ? "li" : "p", { class: "v-empty" }, empty));
  }
  more.onclick = () => act(more, load);
  wrap.ready = load().catch((error) => wrap.append(errorNote(error)));
  wrap.list = list;
  return wrap;
}

function imageStrip(media, author) {
  if (!media || media.length === 0) return null;
  return h(
    "div",
    { class: "v-media" },
    ...media.map((item, index) =>
      h("img", {
        src: item.url,
        width: item.width,
        height: item.height,
        loading: "lazy",
        alt: `Image ${index + 1} of ${media.length} posted by ${author.display_name}`,
      }),
    ),
  );
}

const PRIVACY_LABELS = { public: "Public", followers: "Followers", private: "Chosen followers" };

/** One post: author, text, images, like and comment controls, delete for its author. */
export function postCard(post, me, { openComments = false } = {}) {
  const card = h("article", {
    class: "v-post",
    "aria-label": `Post by ${post.author.display_name}`,
  });
  const likes = h("span", { class: "v-count" });
  const commentCount = h("span", { class: "v-count" });
  let liked = post.liked_by_me;
  let likeCount = post.like_count;
  let comments = post.comment_count;
  const likeButton = h("button", { type: "button", class: "v-like" }, "Like");
  const paint = () => {
    likeButton.setAttribute("aria-pressed", String(liked));
    likes.textContent = count(likeCount, "like");
    commentCount.textContent = count(comments, "comment");
  };
  paint();
  likeButton.onclick = () =>
    act(likeButton, async () => {
      await api(liked ? "DELETE" : "POST", `/api/posts/${post.id}/like`);
      likeCount += liked ? -1 : 1;
      liked = !liked;
      paint();
    });

  const thread = commentThread(post, me, (delta) => {
    comments += delta;
    paint();
  });
  thread.hidden = !openComments;
  if (openComments) thread.open();
  const toggle = h("button", { type: "button", "aria-expanded": String(openComments) }, "Comments");
  toggle.onclick = () => {
    thread.hidden = !thread.hidden;
    toggle.setAttribute("aria-expanded", String(!thread.hidden));
    if (!thread.hidden) thread.open();
  };

  const actions = h("div", { class: "v-actions" }, likeButton, likes, toggle, commentCount);
  if (post.author.id === me.id) {
    const remove = h("button", { type: "button", class: "v-danger" }, "Delete post");
    remove.onclick = () =>
      act(remove, async () => {
        if (!window.confirm("Delete this post?")) return;
        await api("DELETE", `/api/posts/${post.id}`);
        card.replaceWith(h("p", { class: "v-note", role: "status" }, "Post deleted."));
      });
    actions.append(remove);
  }
  append(card, [
    h(
      "header",
      { class: "v-post-head" },
      avatar(post.author),
      userLink(post.author),
      h("a", { href: `/posts/${post.id}`, class: "v-when" }, when(post.created_at)),
      post.group_id === null
        ? h("span", { class: "v-tag" }, PRIVACY_LABELS[post.privacy] || post.privacy)
        : null,
      post.group_id !== null
        ? h("a", { href: `/g/${post.group_id}`, class: "v-tag" }, "Group post")
        : null,
    ),
    h("p", { class: "v-text" }, post.content),
    imageStrip(post.media, post.author),
    actions,
    thread,
  ]);
  return card;
}

/** A post's comments, oldest first (loaded on first open), and the form to add one. */
function commentThread(post, me, counted) {
  const field = h("textarea", { name: "comment", rows: 2, maxLength: 4000, required: true });
  const send = h("button", { type: "submit" }, "Send comment");
  const form = h(
    "form",
    { class: "v-comment-form" },
    h("label", {}, "Write a comment", field),
    send,
  );
  const section = h("section", { class: "v-thread", "aria-label": "Comments" }, form);
  // A comment written here may come again in a later page: each id is shown once.
  const shown = new Set();
  let comments = null;

  const row = (comment) => {
    if (shown.has(comment.id)) return null;
    shown.add(comment.id);
    const item = h(
      "li",
      { class: "v-comment" },
      avatar(comment.author),
      userLink(comment.author),
      " ",
      when(comment.created_at),
      h("p", { class: "v-text" }, comment.content),
      imageStrip(comment.media, comment.author),
    );
    if (comment.author.id === me.id || post.author.id === me.id) {
      const remove = h("button", { type: "button", class: "v-danger" }, "Delete comment");
      remove.onclick = () =>
        act(remove, async () => {
          await api("DELETE", `/api/comments/${comment.id}`);
          item.remove();
          counted(-1);
        });
      item.append(remove);
    }
    return item;
  };

  section.open = () => {
    if (comments !== null) return;
    comments = pagedList(`/api/posts/${post.id}/comments`, row, "No comments yet.", { tag: "ul" });
    section.prepend(comments);
  };
  form.onsubmit = (event) => {
    event.preventDefault();
    act(send, async () => {
      const comment = await api("POST", `/api/posts/${post.id}/comments`, { content: field.value });
      await comments.ready;
      comments.list.querySelector(".v-empty")?.remove();
      const item = row(comment);
      if (item !== null) comments.list.append(item);
      field.value = "";
      counted(1);
    });
  };
  return section;
}

/** Images picked, dropped or pasted into a composer: previews now, uploads on send. */
function imagePicker() {
  const files = [];
  const previews = h("ul", { class: "v-previews", "aria-label": "Images to post" });
  const input = h("input", { type: "file", accept: "image/*", multiple: true, class: "v-file" });
  const status = h("p", { class: "v-note", role: "status" });
  const paint = () => {
    clear(previews);
    files.forEach((entry, index) => {
      const remove = h("button", { type: "button" }, `Remove image ${index + 1}`);
      remove.onclick = () => {
        URL.revokeObjectURL(entry.preview);
        files.splice(index, 1);
        paint();
      };
      previews.append(
        h(
          "li",
          {},
          h("img", { src: entry.preview, alt: `Image ${index + 1}: ${entry.file.name}` }),
          remove,
        ),
      );
    });
    input.disabled = files.length >= MAX_IMAGES;
  };
  const add = (list) => {
    const images = [...list].filter((file) => file.type.startsWith("image/"));
    const room = MAX_IMAGES - files.length;
    status.textContent = images.length > room ? `At most ${MAX_IMAGES} images per post.` : "";
    for (const file of images.slice(0, room))
      files.push({ file, preview: URL.createObjectURL(file) });
    paint();
  };
  input.onchange = () => {
    add(input.files);
    input.value = "";
  };
  const field = h("label", { class: "v-file-label" }, `Add images (up to ${MAX_IMAGES})`, input);
  return {
    field,
    previews,
    status,
    add,
    count: () => files.length,
    async uploadAll() {
      const uploaded = await Promise.all(files.map((entry) => upload(entry.file)));
      return uploaded.map((media) => media.id);
    },
    reset() {
      for (const entry of files) URL.revokeObjectURL(entry.preview);
      files.length = 0;
      paint();
    },
  };
}

/** Pick which accepted followers may see a `private` post. */
function audiencePicker(me) {
  const box = h(
    "fieldset",
    { class: "v-audience", hidden: true },
    h("legend", {}, "Followers who can see it"),
  );
  let loaded = false;
  box.load = () => {
    if (loaded) return;
    loaded = true;
    api("GET", `/api/users/${me.id}/followers?limit=100`)
      .then((followers) => {
        if (followers.length === 0)
          box.append(h("p", { class: "v-empty" }, "You have no followers yet."));
        for (const user of followers) {
          box.append(
            h(
              "label",
              { class: "v-check" },
              h("input", { type: "checkbox", value: String(user.id) }),
              user.display_name,
              ` (@${user.username})`,
            ),
          );
        }
      })
      .catch((error) => box.append(errorNote(error)));
  };
  box.chosen = () => [...box.querySelectorAll("input:checked")].map((input) => Number(input.value));
  return box;
}

/** The form to write a post: text, images, privacy (not in a group), and its submit. */
export function composer(me, { groupId = null, onPosted }) {
  const text = h("textarea", { name: "content", rows: 3, maxLength: 10000, required: true });
  const images = imagePicker();
  const submit = h("button", { type: "submit" }, "Post");
  const form = h(
    "form",
    { class: "v-composer", "aria-label": "New post" },
    h("label", {}, groupId === null ? "What's on your mind?" : "Write to the group", text),
    images.previews,
    images.field,
    images.status,
  );
  let privacy = null;
  let audience = null;
  if (groupId === null) {
    privacy = h(
      "select",
      { name: "privacy" },
      h("option", { value: "public" }, "Public"),
      h("option", { value: "followers" }, "Followers"),
      h("option", { value: "private" }, "Chosen followers"),
    );
    audience = audiencePicker(me);
    privacy.onchange = () => {
      audience.hidden = privacy.value !== "private";
      if (!audience.hidden) audience.load();
    };
    form.append(h("label", {}, "Who can see it", privacy), audience);
  }
  form.append(submit);
  form.addEventListener("dragover", (event) => event.preventDefault());
  form.addEventListener("drop", (event) => {
    event.preventDefault();
    images.add(event.dataTransfer.files);
  });
  text.addEventListener("paste", (event) => {
    if (event.clipboardData && event.clipboardData.files.length > 0)
      images.add(event.clipboardData.files);
  });
  form.onsubmit = (event) => {
    event.preventDefault();
    act(submit, async () => {
      const body = { content: text.value };
      if (images.count() > 0) body.media_ids = await images.uploadAll();
      if (groupId !== null) body.group_id = groupId;
      if (privacy) body.privacy = privacy.value;
      if (privacy && privacy.value === "private") body.allowed_user_ids = audience.chosen();
      const post = await api("POST", "/api/posts", body);
      text.value = "";
      images.reset();
      onPosted(post);
    });
  };
  return form;
}

/** A page of posts from `path`, with a "Load more" button. */
export function postList(path, me, empty) {
  return pagedList(path, (post) => postCard(post, me), empty);
}

async function renderPost(container, id) {
  const me = await currentUser();
  let post;
  try {
    post = await api("GET", `/api/posts/${encodeURIComponent(id)}`);
  } catch (error) {
    if (error.status !== 404) throw error;
    container.append(
      h("h1", {}, "Post not found"),
      h("p", {}, "This post does not exist or you may not see it."),
    );
    return;
  }
  container.append(
    h("h1", {}, `Post by ${post.author.display_name}`),
    postCard(post, me, { openComments: true }),
  );
}

/** Search people by name, and the way to the groups. */
function findPeople() {
  const query = h("input", { type: "search", name: "q", maxLength: 1000 });
  const results = h("div", {});
  const form = h(
    "form",
    { role: "search", class: "v-search" },
    h("label", {}, "Search people", query),
    h("button", { type: "submit" }, "Search people"),
  );
  form.onsubmit = (event) => {
    event.preventDefault();
    clear(results);
    results.append(
      pagedList(`/api/users?q=${encodeURIComponent(query.value)}`, personRow, "Nobody found.", {
        tag: "ul",
      }),
    );
  };
  return h(
    "section",
    { class: "v-card", "aria-label": "Find people and groups" },
    form,
    results,
    h("p", {}, h("a", { href: "/g" }, "Browse groups")),
  );
}

async function renderFeed(container) {
  const me = await currentUser();
  const posts = postList("/api/feed", me, "Nothing here yet: write a post or follow someone.");
  const write = composer(me, {
    onPosted: (post) => {
      posts.list.querySelector(".v-empty")?.remove();
      posts.list.prepend(postCard(post, me));
    },
  });
  container.append(
    h("h1", {}, "Feed"),
    findPeople(),
    write,
    h("h2", { class: "v-hidden" }, "Posts"),
    posts,
  );
}

export async function render(container, params = {}) {
  clear(container);
  try {
    if (params.id !== undefined) await renderPost(container, params.id);
    else await renderFeed(container);
  } catch (error) {
    container.append(errorNote(error));
  }
}
