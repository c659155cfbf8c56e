// One row of the dashboard's candidate list, filled from a candidate's view. The markup is the
// server's (templates/_candidate_row.html): rows of the first paint are adopted as they are, a
// row for a candidate who arrives later is a clone of <template id="candidate-row">. Filling
// only shows or hides parts and sets texts and attributes, and touches nothing already right:
// filling a row the server rendered from the same view changes nothing on the page.
//
// No module state and no listeners here (supervision.js owns them): a test can fill a fresh
// clone and compare it with the server's row.
import { clock, listName, pausedFor, shortDate, signed } from "./format.js";
import { t, tn } from "./i18n.js";
import { CandidateStatus as Status, Connection, isEnded } from "./vocabulary.js";

export function isOvertime(c, now = Date.now()) {
  if (c.status !== Status.IN_PROGRESS) return false;
  if (c.overtime) return true;
  // A paused clock stands still: the server's word holds until the test resumes.
  if (c.paused) return false;
  // The server computes overtime when it sends; time passes between events.
  return Boolean(c.theoretical_end_at) && now > Date.parse(c.theoretical_end_at);
}

export function newRow(doc = document) {
  return doc.getElementById("candidate-row").content.firstElementChild.cloneNode(true);
}

// Each row's elements, looked up once: a row is filled again on every change to its candidate.
const found = new WeakMap();

function partsOf(row) {
  let p = found.get(row);
  if (!p) {
    p = { part: {}, slots: {} };
    for (const el of row.querySelectorAll("[data-part]")) p.part[el.dataset.part] = el;
    for (const el of row.querySelectorAll("[data-slot]")) (p.slots[el.dataset.slot] ||= []).push(el);
    p.selectBox = p.part.select.querySelector("input");
    p.bar = row.querySelector("progress");
    p.barLabel = row.querySelector("label[for^='progress-']");
    p.button = row.querySelector(".menu-button");
    p.menu = row.querySelector("[role=menu]");
    p.items = [...p.menu.querySelectorAll("[data-action]")];
    found.set(row, p);
  }
  return p;
}

function show(el, on) {
  if (el.hidden === on) el.hidden = !on;
}

function text(el, value) {
  if (el.textContent !== value) el.textContent = value;
}

function attr(el, name, value) {
  if (value === null) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
  } else if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

function prop(el, name, value) {
  if (el[name] !== value) el[name] = value;
}

function slot(row, name, value) {
  for (const el of partsOf(row).slots[name]) text(el, value);
}

// view: { frozen, pending (the presence tick on its way, or undefined), selecting, selected, now }
export function fillRow(row, c, view) {
  const running = c.status === Status.IN_PROGRESS;
  const ended = isEnded(c.status);
  const waiting = c.status === Status.NOT_STARTED;
  const id = String(c.id);
  const { frozen } = view;
  const p = partsOf(row);
  const part = (_row, name) => p.part[name];

  attr(row, "data-candidate-id", id);
  row.classList.toggle("candidate--attention", running && Boolean(c.resume_requested));
  row.classList.toggle("candidate--done", ended);
  row.classList.toggle("candidate--alert", Boolean(c.alert));
  slot(row, "name", listName(c));
  slot(row, "birth", shortDate(c.birthdate));

  const select = part(row, "select");
  show(select, view.selecting);
  const selectBox = p.selectBox;
  prop(selectBox, "checked", view.selecting && view.selected);
  prop(selectBox, "disabled", frozen);

  // While the tick is on its way the box stays focusable (a disabled one would drop the
  // keyboard to the page body): aria-disabled, and the page ignores its clicks.
  const box = part(row, "presence");
  show(box, waiting);
  attr(box, "id", `presence-${id}`);
  prop(box, "checked", view.pending !== undefined ? view.pending : Boolean(c.authorized_to_start));
  prop(box, "disabled", frozen);
  attr(box, "aria-disabled", view.pending !== undefined ? "true" : null);
  show(part(row, "spacer"), !waiting);
  attr(part(row, "label"), "for", waiting ? `presence-${id}` : null);

  const paused = running && Boolean(c.paused);
  const overtime = isOvertime(c, view.now);
  const lost = c.connection === Connection.LOST && !ended;
  const tags = {
    "alert-tag": Boolean(c.alert),
    "resume-requested": running && Boolean(c.resume_requested),
    running,
    "resume-authorized": running && Boolean(c.resume_authorized),
    ended,
    paused,
    adjusted: Boolean(c.time_adjustment_minutes),
    lost,
    overtime,
  };
  for (const [name, on] of Object.entries(tags)) show(part(row, name), on);
  show(part(row, "tags"), Object.values(tags).some(Boolean));
  attr(part(row, "alert-tag"), "title", c.alert ? c.alert.category_label : "");
  slot(row, "paused-for", paused ? pausedFor(c.paused_since, view.now) : "");
  slot(row, "adjustment", c.time_adjustment_minutes ? signed(c.time_adjustment_minutes) : "");

  show(part(row, "warning"), running && Boolean(c.resume_while_connected));
  const note = part(row, "end-note");
  const words = note.getAttribute(`data-note-${c.status}`);
  show(note, words !== null);
  text(note, words || "");

  const { answered, total } = c.progress;
  show(part(row, "progress"), !waiting);
  slot(row, "progress", `${answered}/${total}`);
  const bar = p.bar;
  attr(bar, "id", `progress-${id}`);
  attr(p.barLabel, "for", `progress-${id}`);
  attr(bar, "max", String(total || 1));
  attr(bar, "value", String(answered));
  // The same msgids as the template's, so a row filled here reads as the server's.
  attr(bar, "aria-valuetext", t("%(answered)s sur %(total)s", { answered, total }));

  show(part(row, "timing"), Boolean(c.started_at));
  const showEnd = Boolean(c.theoretical_end_at) && !ended;
  const showEnded = ended && Boolean(c.ended_at);
  slot(row, "started", clock(c.started_at));
  show(part(row, "theoretical-end"), showEnd);
  slot(row, "theoretical-end", showEnd ? clock(c.theoretical_end_at) : "");
  show(part(row, "ended-at"), showEnded);
  slot(row, "ended-at", showEnded ? clock(c.ended_at) : "");
  show(part(row, "extra-time"), Boolean(c.extra_time_percentage));
  slot(row, "extra-time", c.extra_time_percentage ? String(c.extra_time_percentage) : "");

  const alert = part(row, "alert");
  show(alert, Boolean(c.alert));
  prop(alert, "disabled", frozen);
  const reports = part(row, "reports");
  const n = c.reports_count || 0;
  show(reports, n > 0);
  prop(reports, "disabled", frozen);
  slot(row, "reports", tn("%(n)s rapport d'incident", "%(n)s rapports d'incident", n));

  const button = p.button;
  attr(button, "id", `actions-${id}`);
  attr(button, "aria-controls", `menu-${id}`);
  prop(button, "disabled", frozen);
  const menu = p.menu;
  attr(menu, "id", `menu-${id}`);
  attr(menu, "aria-labelledby", `actions-${id}`);
  const items = {
    authorize_resume: running,
    pause: running && !paused,
    unpause: paused,
    adjust_time: running,
    message: running,
    report: true,
    end_test: running,
  };
  for (const item of p.items) show(item, Boolean(items[item.dataset.action]));
  return row;
}
