/* Browser notifications for messages. The permission is asked for only when the person clicks
 * the control in the settings (a prompt on load is noise, and browsers penalise it); once on,
 * a message from someone else shows a notification unless its conversation is on screen. */

import { api } from "./api.js";
import { navigate } from "./router.js";
import { on } from "./socket.js";

const CHOICE = "socialhub.notifications";

/** "unsupported", "denied", "on" or "off" (off: not asked yet, or turned off here). */
export function notificationState() {
  if (!("Notification" in window)) return "unsupported";
  if (Notification.permission === "denied") return "denied";
  return Notification.permission === "granted" && localStorage.getItem(CHOICE) === "on" ? "on" : "off";
}

/** Asks for the permission (call it from a click only) and turns notifications on if given. */
export async function turnOn() {
  if ((await Notification.requestPermission()) === "granted") localStorage.setItem(CHOICE, "on");
  return notificationState();
}

export function turnOff() {
  localStorage.removeItem(CHOICE);
}

/** Follows the socket's messages for the signed-in person, whose own ones never notify. */
export function startNotify(myId) {
  const show = async (frame) => {
    if (frame.from === myId || notificationState() !== "on") return;
    const path = frame.type === "private" ? `/chat/u/${frame.from}` : `/chat/g/${frame.group_id}`;
    if (document.visibilityState === "visible" && location.pathname === path) return;
    const sender = await api("GET", `/api/users/${frame.from}`).catch(() => null);
    const title = sender ? sender.display_name || sender.username : "New message";
    const note = new Notification(title, { body: frame.content.slice(0, 200), tag: path });
    note.onclick = () => {
      window.focus();
      navigate(path);
    };
  };
  on("private", show);
  on("group", show);
}
