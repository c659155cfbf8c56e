// The activity feed's finer points: connection losses told once per run (a flapping
// network updates one line instead of flooding the feed), and times to the second while
// they are recent, so a burst of events does not read "02:05" everywhere.
import { h } from "./dom.js";
import { clock, listName } from "./format.js";
import { t, tn } from "./i18n.js";
import { Action } from "./vocabulary.js";

const RUN_MS = 2 * 60 * 1000;
const RECENT_MS = 60 * 60 * 1000;
const runs = new Map();

export function feedTime(at) {
  const when = at ? Date.parse(at) : Date.now();
  const recent = Math.abs(Date.now() - when) < RECENT_MS;
  return clock(at || new Date().toISOString(), { seconds: recent });
}

export function isConnectionEvent(event) {
  return event.action === Action.CONNECTION_LOST || event.action === Action.CONNECTED;
}

function words(c, lost, drops) {
  const name = listName(c);
  const base = lost ? t("Connexion perdue : %(name)s", { name }) : t("Connexion rétablie : %(name)s", { name });
  return drops > 1 ? tn("%(line)s (%(n)s coupure)", "%(line)s (%(n)s coupures)", drops, { line: base }) : base;
}

function paint(el, text, at) {
  el.querySelector(".activity__text").textContent = text;
  const time = el.querySelector(".activity__time");
  time.setAttribute("datetime", at || "");
  time.textContent = ` — ${feedTime(at)}`;
}

// `add(text, at)` puts a new line on top of the feed and returns it.
export function connectionActivity(event, list, add) {
  const c = event.candidate;
  if (!c || !c.id) return;
  const lost = event.action === Action.CONNECTION_LOST;
  const at = event.at || new Date().toISOString();
  const run = runs.get(c.id);
  const fresh = run && run.el.isConnected && Date.parse(at) - run.last < RUN_MS;
  if (fresh) {
    if (lost) run.drops += 1;
    run.last = Date.parse(at);
    paint(run.el, words(c, lost, run.drops), at);
    list.prepend(run.el);
    return;
  }
  // A first connection is not news; coming back after a loss is.
  if (!lost) return;
  const el = add(words(c, true, 1), at);
  runs.set(c.id, { el, last: Date.parse(at), drops: 1 });
}

export function resetActivity() {
  runs.clear();
}

export function activityItem(text, at) {
  return h(
    "li",
    { class: "activity__item" },
    h("span", { class: "activity__text", text }),
    h("time", { class: "activity__time", datetime: at || "", text: ` — ${feedTime(at)}` }),
  );
}
