/* Building DOM nodes without HTML strings.
 *
 * Every piece of text from the server reaches the page as a text node or a DOM property, so it
 * can never become markup or script (the page's CSP makes innerHTML throw anyway).
 */

/** Attributes that must go through setAttribute, not a DOM property of the same name. */
const ATTRIBUTE_ONLY = /^(aria-|data-|role$|for$|list$|form$|inputmode$|enterkeyhint$)/;

/**
 * h("button", {class: "x", onclick: fn, "aria-label": "y"}, "text", child, [more, children])
 * builds an element. Strings and numbers become text nodes; null, undefined and false are
 * skipped, arrays are flattened. An attribute whose value is null, undefined or false is left off.
 */
export function h(tag, attrs, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      element.className = value;
    } else if (ATTRIBUTE_ONLY.test(name) || !(name in element)) {
      element.setAttribute(name, value === true ? "" : String(value));
    } else {
      element[name] = value;
    }
  }
  append(element, children);
  return element;
}

/** Appends children (nodes, text, arrays of them) to a node, as h() does. */
export function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** Removes every child of a node. */
export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

/** Replaces every child of a node with the given ones. */
export function replace(node, ...children) {
  return append(clear(node), children);
}

// Times are written out rather than with Intl: a new tab's first Intl formatter costs 20-60 ms
// (the locale's data is loaded), which a view's first render would wait for.
const pad = (n) => String(n).padStart(2, "0");

/** "14:05" for a time today, "2026-12-24 14:05" for another day: the same in every locale,
 * and unambiguous in all of them. */
export function writtenTime(date) {
  const at = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  if (date.toDateString() === new Date().toDateString()) return at;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${at}`;
}
