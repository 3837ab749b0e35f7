/* Times as the chat shows them, in the reader's locale.
 *
 * A tab's first Intl formatter is slow to make (20-60 ms: the locale's data is loaded), so the
 * boot makes them while the first requests are in flight, not the first render once the
 * answers are in. */

let formats = null;

/** Makes the formatters now, if not made yet. */
export function prepareFormats() {
  formats ||= {
    time: new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit" }),
    day: new Intl.DateTimeFormat(),
  };
  return formats;
}

/** The time of day of a message sent today; the date, then the time, of an older one. */
export function formatTime(date) {
  const { time, day } = prepareFormats();
  const at = time.format(date);
  return date.toDateString() === new Date().toDateString() ? at : `${day.format(date)} ${at}`;
}
