/* The tab's one WebSocket: resumed after every drop, frames handed to subscribers by type.
 *
 * The socket remembers the cursor of the last stored frame it saw and reconnects with
 * /ws?since=<cursor>, so the server replays exactly what was missed, in order. Frames sent with a
 * client id stay queued until acked and are sent again after a reconnect: the server stores a
 * client id once, so a resend never duplicates a message.
 */

const handlers = new Map();
const unacked = new Map();
let socket = null;
let cursor = null;
let attempt = 0;
let lostAt = 0;
const PROMPT_RETRIES_MS = 60000;
// The server's close of a user's oldest socket when a newer one took it past --max-sockets.
const DISPLACED = 4002;
let retryTimer = 0;
let running = false;
let state = "connecting";
let nextId = 0;
const idPrefix = Math.random().toString(36).slice(2, 10);

/** Subscribes fn to frames of one type; returns the function that unsubscribes it. Besides
 * the server's frame types there are "state" (the connection state changed) and "resync" (the
 * server could not replay: reload from the history endpoints). */
export function on(type, fn) {
  if (!handlers.has(type)) handlers.set(type, new Set());
  handlers.get(type).add(fn);
  return () => handlers.get(type).delete(fn);
}

function emit(type, data) {
  for (const fn of [...(handlers.get(type) || [])]) {
    try {
      fn(data);
    } catch (error) {
      console.warn("socket handler failed", error);
    }
  }
}

/** "connecting", "connected" or "reconnecting". */
export function connectionState() {
  return state;
}

function setState(next) {
  if (next === state) return;
  state = next;
  emit("state", next);
}

/** A new client id for a frame, unique for this tab. */
export function clientId() {
  nextId += 1;
  return `${idPrefix}-${Date.now().toString(36)}-${nextId}`;
}

/**
 * Sends a frame. With reliable (the default) the frame gets a client id if it has none and is
 * kept until the server acks it or refuses it, and resent after a reconnect; the id is returned.
 * Without, the frame is sent only if the socket is open now (typing indicators), else dropped.
 */
export function send(frame, { reliable = true } = {}) {
  if (reliable) {
    if (!frame.id) frame = { ...frame, id: clientId() };
    unacked.set(frame.id, frame);
  }
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  return frame.id;
}

/** Opens the socket and keeps it open until stop(). */
export function start() {
  if (running) return;
  running = true;
  window.addEventListener("online", retryNow);
  window.addEventListener("offline", dropNow);
  connect();
}

/** Closes the socket for good (logging out). */
export function stop() {
  running = false;
  window.removeEventListener("online", retryNow);
  window.removeEventListener("offline", dropNow);
  window.removeEventListener("focus", retryNow);
  clearTimeout(retryTimer);
  unacked.clear();
  if (socket) socket.close(1000);
  socket = null;
}

function connect() {
  clearTimeout(retryTimer);
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const since = encodeURIComponent(cursor || "now");
  const ws = new WebSocket(`${scheme}//${location.host}/ws?since=${since}`);
  socket = ws;
  ws.addEventListener("open", () => {
    for (const frame of unacked.values()) ws.send(JSON.stringify(frame));
  });
  ws.addEventListener("message", (event) => receive(ws, event.data));
  ws.addEventListener("close", (event) => closed(ws, event.code));
}

function receive(ws, text) {
  if (ws !== socket) return;
  let frame;
  try {
    frame = JSON.parse(text);
  } catch {
    return;
  }
  if (frame.cursor) cursor = frame.cursor;
  if (frame.type === "resumed") {
    caughtUp();
  } else if (frame.type === "resync_required") {
    caughtUp();
    emit("resync", frame);
  } else if ((frame.type === "ack" || frame.type === "error") && frame.id) {
    unacked.delete(frame.id);
  }
  emit(frame.type, frame);
}

function closed(ws, code) {
  if (ws !== socket) return;
  socket = null;
  if (!running) return;
  if (code === 4001) {
    running = false;
    emit("logged_out", { code });
    return;
  }
  if (code === DISPLACED) {
    // Another tab took this one's place. Coming back at once would displace the next oldest,
    // and so on round the tabs: this one comes back when it is used again.
    setState("reconnecting");
    window.addEventListener("focus", retryNow, { once: true });
    return;
  }
  retryLater();
}

/** Tries again after a delay with jitter; while the browser is offline it waits for its
 * "online" event instead (a try would only fail, and log an error). */
function retryLater() {
  setState("reconnecting");
  if (!navigator.onLine) return;
  retryTimer = setTimeout(connect, retryDelay());
}

/** The wait before the next try. For the first minute of a loss, about every half second
 * (0.2-0.6 s): a network that returns is used within a second even when the browser says
 * nothing. After that, doubling from 1 s to a cap of 30 s, each wait jittered between half
 * and all of it, so that the clients of a server that is down for long do not come back at once. */
function retryDelay() {
  if (!lostAt) lostAt = Date.now();
  if (Date.now() - lostAt < PROMPT_RETRIES_MS) return 200 + Math.random() * 400;
  const base = Math.min(30000, 1000 * 2 ** attempt);
  attempt += 1;
  return base / 2 + (Math.random() * base) / 2;
}

function caughtUp() {
  attempt = 0;
  lostAt = 0;
  setState("connected");
}

function retryNow() {
  if (running && !socket) {
    attempt = 0;
    lostAt = 0;
    connect();
  }
}

/** The browser lost the network: the socket is as good as dead, so say so and retry now
 * (the retries back off until the network returns). */
function dropNow() {
  const ws = socket;
  if (!ws || !running) return;
  socket = null;
  ws.close(4000);
  retryLater();
}
