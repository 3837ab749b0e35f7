"""Reading a long conversation in the page: scrolling its log to either end a step at a time,
and what the page holds at each step (the rows' texts, the document's node count).

Used by test_chat_scale.py and bench/chat_scale.py; the conversation is fill_conversation's
("Message 00000" onwards).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

# Every node of the document (elements, text, comments), as WEB.md's budget counts them.
NODES = """() => {
  const walker = document.createTreeWalker(document, NodeFilter.SHOW_ALL);
  let count = 1;
  while (walker.nextNode()) count += 1;
  return count;
}"""
ROW_TEXTS = "() => [...document.querySelectorAll('[role=log] li p.text')].map((p) => p.textContent)"
# Scrolls the log to one end, then waits until the row at that end is another one (a page came
# in) or `patience` ms passed with nothing more to show.
_SCROLL = """async ([toTop, patience]) => {
  const log = document.querySelector("[role=log]");
  const end = () => {
    const rows = log.querySelectorAll("li p.text");
    return rows.length ? rows[toTop ? 0 : rows.length - 1].textContent : null;
  };
  const before = end();
  log.scrollTop = toTop ? 0 : log.scrollHeight;
  const started = performance.now();
  while (end() === before && performance.now() - started < patience) {
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
  return end() !== before;
}"""
# How long a scroll may take to bring rows (a page of history from the server, on a loaded
# machine): only a scroll that brings nothing, which fails the caller's checks, waits it out.
STEP_MS = 30_000
# chat.js's WINDOW, from the module the page runs (under the page's versioned prefix).
_WINDOW = """async () => {
  const main = document.querySelector("script[type=module]").src;
  return (await import(main.replace(/main\\.js$/, "views/chat.js"))).WINDOW;
}"""

Step = Callable[[list[str], int], None]


def row_texts(page: Page) -> list[str]:
    texts: list[str] = page.evaluate(ROW_TEXTS)
    return texts


def window(page: Page) -> int:
    """The most rows the conversation view keeps in the page."""
    rows: int = page.evaluate(_WINDOW)
    return rows


def node_count(page: Page) -> int:
    count: int = page.evaluate(NODES)
    return count


def scroll_through(page: Page, to_top: bool, step: Step, last: str) -> None:
    """Scroll the log to its top (or bottom) again and again until the row at that end is
    `last` (the conversation's first message, or its newest); after each scroll, `step(texts,
    nodes)` with the rows' texts and the document's node count. A scroll that brings no row
    within STEP_MS ends it short of `last`."""
    while _end(page, to_top) != last and page.evaluate(_SCROLL, [to_top, STEP_MS]):
        step(row_texts(page), node_count(page))


def _end(page: Page, to_top: bool) -> str | None:
    texts = row_texts(page)
    return (texts[0] if to_top else texts[-1]) if texts else None
