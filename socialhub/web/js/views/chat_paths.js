/* The chat view's request paths, apart from the view so that the boot can start a
 * conversation's first requests while the view's module is still loading. */

/** Messages per history page. */
export const PAGE = 50;

/** A page of a conversation's history: the newest messages, or those before a message id. */
export function historyPath(kind, id, before) {
  const older = before ? `&before=${before}` : "";
  return kind === "private"
    ? `/api/messages/private?user=${id}&limit=${PAGE}${older}`
    : `/api/messages/group?group=${id}&limit=${PAGE}${older}`;
}

export function userPath(id) {
  return `/api/users/${id}`;
}

export function presencePath(ids) {
  return `/api/presence?users=${ids.slice(0, 100).join(",")}`;
}

/** What an open conversation asks for first: its newest page, and for a private one the other
 * person's name and presence. The conversation list asks nothing ahead. */
export function firstPaths({ kind, id }) {
  if (!kind) return [];
  const paths = [historyPath(kind, id, null)];
  if (kind === "private") paths.push(userPath(id), presencePath([id]));
  return paths;
}
