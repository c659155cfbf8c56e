// The espace surveillant of one session: live list, presence, resume, end of test.
import { alertsOnEvent, openAlert, renderAlerts, setupAlerts } from "./alerts.js";
import { activityItem, connectionActivity, isConnectionEvent, resetActivity } from "./activity.js";
import { inFilter, renderFilters, setupFilters } from "./filters.js";
import { fillRow, isOvertime, newRow } from "./candidate-row.js";
import { endTestWithReason, openReports, reportsOnEvent, reportsOnSnapshot, setupReports } from "./reports.js";
import { api, loginUrl } from "./api.js";
import { embedded, h, setText, $ } from "./dom.js";
import { fold, listName, personName, shortDate } from "./format.js";
import { t } from "./i18n.js";
import { Link, LiveFeed, liveUrl } from "./live.js";
import { isOpen, menus } from "./menu.js";
import { announce, confirmDialog, toast } from "./ui.js";
import { Action, CandidateStatus as Status, CloseCode, Connection, EventName, SessionStatus, isEnded } from "./vocabulary.js";
import { ROOM_ACTIONS, ROOM_ACTIVITY, initRoom, renderRoom, roomChanges, select, selection } from "./room.js";

const main = $("[data-dashboard]");
const sessionId = Number(main.dataset.sessionId);
const listEl = $("[data-candidates]");
const emptyEl = $("[data-empty]", listEl);
const searchEl = $("[data-search]");
const OVERTIME_CHECK_MS = 30000;
// The snapshot the server rendered the page from.
const initial = embedded("snapshot");
const ACTIVITY_MAX = 30;

const state = {
  session: null,
  candidates: new Map(),
  supervisors: [],
  // The counters as the server last computed them (snapshot, then each event).
  counts: null,
  // Who is logged in, from the page itself: marks "(vous)" in the list of supervisors.
  me: (embedded("me") || {}).user || null,
  link: Link.CONNECTING,
  // Presence ticks sent but not yet confirmed by the live feed: shown as asked, not as done.
  pending: new Map(),
  rows: new Map(),
  // The page's first snapshot is the one the server drew the rows from: they are adopted as drawn.
  asServed: false,
  query: "",
};

// ------------------------------------------------------------------ derived facts

// Rows that need a supervisor come first, the most urgent first; then the rest by name.
function attention(c) {
  if (c.alert) return 0;
  if (c.resume_requested && c.status === Status.IN_PROGRESS) return 1;
  if (c.connection === Connection.LOST && c.status === Status.IN_PROGRESS) return 2;
  if (isOvertime(c)) return 3;
  return 4;
}

function sorted() {
  const key = (c) => [attention(c), fold(c.last_name), fold(c.first_name), c.id];
  return [...state.candidates.values()].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i += 1) {
      if (ka[i] < kb[i]) return -1;
      if (ka[i] > kb[i]) return 1;
    }
    return 0;
  });
}

function matches(c) {
  if (!inFilter(c, attention)) return false;
  if (!state.query) return true;
  const words = state.query.split(" ");
  const hay = `${fold(c.last_name)} ${fold(c.first_name)}`;
  return words.every((w) => hay.includes(w));
}

const finalized = () => state.session && state.session.status === SessionStatus.FINALIZED;
const frozen = () => state.link !== Link.LIVE || finalized();

// ------------------------------------------------------------------ rendering

// What a row shows beyond its candidate's view; a row is filled again only when this changes.
function rowView(c) {
  return { frozen: frozen(), pending: state.pending.get(c.id), ...selection(c.id), now: Date.now() };
}

function signature(c, view) {
  const paused = c.paused ? Math.floor((view.now - Date.parse(c.paused_since)) / 60000) : null;
  return JSON.stringify([c, isOvertime(c, view.now), view.pending, view.frozen, view.selecting, view.selected, paused]);
}

const ROW_ACTIONS = {
  authorize_resume: (id) => authorizeResume(id),
  ...ROOM_ACTIONS,
  report: (id) => openReports(id),
  end_test: (id) => endTestWithReason(id),
};

// The rows' controls, for every row at once (the server's, and clones added later): each acts
// on the candidate its row shows now, read from the state when it is used.
const rowId = (el) => Number(el.closest("[data-candidate-id]").dataset.candidateId);

listEl.addEventListener("click", (event) => {
  const box = event.target.closest("[data-part=presence]");
  if (box && state.pending.has(rowId(box))) event.preventDefault();
  const button = event.target.closest("[data-part=alert], [data-part=reports]");
  if (button && button.dataset.part === "alert") openAlert(rowId(button));
  else if (button) openReports(rowId(button));
});

listEl.addEventListener("change", (event) => {
  const input = event.target;
  if (input.matches("[data-part=presence]")) {
    const c = state.candidates.get(rowId(input));
    if (c) setPresence(c, input.checked);
  } else if (input.matches("[data-part=select] input")) select(rowId(input), input.checked);
});

menus(listEl, (action, wrap) => ROW_ACTIONS[action](rowId(wrap)));

// The row of a candidate: the one already drawn, the server's, or a new clone. The server
// drew its rows from the very snapshot the page starts from, so they are taken as they are
// (a test holds the two renderings equal); a clone is filled before it is shown.
function rowOf(c, sig) {
  const known = state.rows.get(c.id);
  if (known) return known;
  const served = listEl.querySelector(`:scope > [data-candidate-id="${c.id}"]`);
  const entry = served && state.asServed ? { el: served, sig } : { el: served || newRow(), sig: null };
  state.rows.set(c.id, entry);
  return entry;
}

function renderList() {
  if (!state.session) return;
  const active = document.activeElement;
  const activeRow = active && active.closest ? active.closest("[data-candidate-id]") : null;

  const rows = [];
  const seen = new Set();
  for (const c of sorted()) {
    seen.add(c.id);
    const view = rowView(c);
    const sig = signature(c, view);
    const entry = rowOf(c, sig);
    // Never change a menu under the keyboard; the row catches up when it closes.
    if (entry.sig !== sig && !isOpen($(".menu-wrap", entry.el))) {
      fillRow(entry.el, c, view);
      entry.sig = sig;
    }
    if (entry.el.hidden === matches(c)) entry.el.hidden = !matches(c);
    rows.push(entry.el);
  }
  for (const id of [...state.rows.keys()]) if (!seen.has(id)) state.rows.delete(id);
  state.asServed = false;
  if (emptyEl.hidden !== rows.length > 0) emptyEl.hidden = rows.length > 0;
  rows.push(emptyEl);

  const current = [...listEl.children];
  const sameOrder = current.length === rows.length && current.every((el, i) => el === rows[i]);
  if (!sameOrder) listEl.replaceChildren(...rows);
  renderAlerts();
  $("[data-no-match]").hidden = !(rows.length > 1 && rows.every((r) => r.hidden));

  // Moving a row takes the keyboard off it: put it back where it was.
  if (active && active !== document.activeElement && activeRow && active.isConnected) active.focus();
}

function renderCounts() {
  if (!state.counts) return;
  for (const [key, value] of Object.entries(state.counts)) {
    const el = $(`[data-count="${key}"]`);
    if (el) setText(el, String(value));
    // "1 terminé", "2 terminés": every label agrees with its number.
    const label = $(`[data-count-label="${key}"]`);
    if (label) setText(label, value > 1 ? label.dataset.many : label.dataset.one);
  }
  renderFilters(state.candidates.values(), attention);
}

function renderSession() {
  const s = state.session;
  setText($("[data-session-date]"), `${shortDate(s.date)} · ${s.time}`);
  setText($("[data-session-site]"), s.address || s.centre);
  setText($("[data-session-room]"), s.room);
  setText($("[data-session-examiner]"), s.examiner);
  setText($("[data-session-code]"), s.access_code || "");
  if ($("[data-finalized-banner]").hidden !== !finalized()) $("[data-finalized-banner]").hidden = !finalized();
}

// The server drew the supervisors of the embedded snapshot: the same list is not drawn again.
let shownSupervisors = JSON.stringify([(initial || {}).supervisors || [], state.me && state.me.id]);

function renderSupervisors() {
  const shown = JSON.stringify([state.supervisors, state.me && state.me.id]);
  if (shown === shownSupervisors) return;
  shownSupervisors = shown;
  const template = document.getElementById("person").content.firstElementChild;
  $("[data-supervisors]").replaceChildren(
    ...state.supervisors.map((s) => {
      const item = template.cloneNode(true);
      $("[data-person-dot]", item).className = `dot ${s.online ? "dot--on" : "dot--off"}`;
      $("[data-person-name]", item).textContent = s.name;
      $("[data-person-me]", item).hidden = !(state.me && s.id === state.me.id);
      const words = $("[data-person-state]", item);
      words.textContent = s.online ? words.dataset.on : words.dataset.off;
      return item;
    }),
  );
}

function renderLink() {
  const down = state.link === Link.RECONNECTING;
  $("[data-live-banner]").hidden = !down;
  $("[data-stale-note]").hidden = !down;
  main.classList.toggle("is-stale", down);
  listEl.setAttribute("aria-busy", state.link === Link.LIVE ? "false" : "true");
  $("[data-counters]").classList.toggle("is-stale", down);
}

function renderAll() {
  renderSession();
  renderCounts();
  renderSupervisors();
  renderList();
  renderRoom();
}

// ------------------------------------------------------------------ activity and announcements

function changes(prev, c) {
  const words = [];
  if (!prev) return words;
  if (prev.status === Status.NOT_STARTED && c.status === Status.NOT_STARTED && prev.authorized_to_start !== c.authorized_to_start) {
    words.push(c.authorized_to_start ? t("présence confirmée") : t("présence retirée"));
  }
  if (prev.status !== c.status) {
    const becomes = {
      [Status.IN_PROGRESS]: () => t("test en cours"),
      [Status.FINISHED]: () => t("test terminé"),
      [Status.ENDED_BY_SUPERVISOR]: () => t("test terminé par un surveillant"),
      [Status.ENDED_BY_FINALIZATION]: () => t("test terminé, session finalisée"),
    }[c.status];
    if (becomes) words.push(becomes());
  }
  if (!prev.resume_requested && c.resume_requested) words.push(t("reprise demandée"));
  if (!prev.resume_while_connected && c.resume_while_connected) words.push(t("attention, le poste d'origine est toujours connecté"));
  if (!prev.resume_authorized && c.resume_authorized) words.push(t("reprise autorisée"));
  if (prev.resume_authorized && !c.resume_authorized && c.status === Status.IN_PROGRESS) words.push(t("test repris"));
  if (prev.connection !== Connection.LOST && c.connection === Connection.LOST && !isEnded(c.status)) words.push(t("connexion perdue"));
  if (prev.connection === Connection.LOST && c.connection === Connection.CONNECTED) words.push(t("connexion rétablie"));
  words.push(...roomChanges(prev, c));
  // A new alert is told at once by its own assertive region (alerts.js); its end, politely.
  if (prev.alert && !c.alert) words.push(t("signalement traité"));
  return words.filter(Boolean);
}

// One line per event worth telling, from the action the server names: the same words for
// live events and for the recent ones a freshly opened page receives with its snapshot.
const ACTIVITY_LINES = {
  [Action.ENROLLED]: (name, actor) => t("%(actor)s a inscrit %(name)s", { actor, name }),
  [Action.REMOVED]: (name, actor) => t("%(actor)s a retiré %(name)s de la session", { actor, name }),
  [Action.PRESENCE_CONFIRMED]: (name, actor) => t("%(actor)s a confirmé la présence de %(name)s", { actor, name }),
  [Action.PRESENCE_WITHDRAWN]: (name, actor) => t("%(actor)s a retiré la présence de %(name)s", { actor, name }),
  [Action.STARTED]: (name) => t("%(name)s a commencé son test", { name }),
  [Action.FINISHED]: (name) => t("%(name)s a terminé son test", { name }),
  [Action.RESUME_REQUESTED]: (name) => t("%(name)s demande à reprendre son test", { name }),
  [Action.RESUME_AUTHORIZED]: (name, actor) => t("%(actor)s a autorisé la reprise de %(name)s", { actor, name }),
  [Action.RESUMED]: (name) => t("%(name)s a repris son test", { name }),
  [Action.ENDED_BY_SUPERVISOR]: (name, actor) => t("%(actor)s a mis fin au test de %(name)s", { actor, name }),
  [Action.FINALIZED]: (name, actor) => t("%(actor)s a finalisé la session", { actor }),
  [Action.SUPERVISOR_JOINED]: (name, actor) => t("%(actor)s surveille la session", { actor }),
  ...ROOM_ACTIVITY,
  [Action.JOIN_SUPERSEDED]: (name) => t("%(name)s : test ouvert sur un autre poste alors que le premier était connecté", { name }),
  [Action.SUPERVISOR_REVOKED]: (name, actor) => t("%(actor)s a retiré l'accès d'un surveillant", { actor }),
  [Action.PASSWORD_ROTATED]: (name, actor) => t("%(actor)s a donné un nouveau mot de passe à la session", { actor }),
  [Action.ALERT_RAISED]: (name) => t("%(name)s a signalé un problème", { name }),
  [Action.ALERT_VALIDATED]: (name, actor) => t("%(actor)s a validé le signalement de %(name)s", { actor, name }),
  [Action.ALERT_REFUSED]: (name, actor) => t("%(actor)s a refusé le signalement de %(name)s", { actor, name }),
  [Action.REPORT_ADDED]: (name, actor) => t("%(actor)s a rédigé un rapport d'incident sur %(name)s", { actor, name }),
  [Action.REPORT_EDITED]: (name, actor) => t("%(actor)s a modifié un rapport d'incident sur %(name)s", { actor, name }),
  [Action.REPORT_REMOVED]: (name, actor) => t("%(actor)s a supprimé un rapport d'incident sur %(name)s", { actor, name }),
};

function describe(event) {
  const line = ACTIVITY_LINES[event.action];
  const actor = event.actor && event.actor.name;
  if (!line || !actor) return null;
  const who = event.candidate && event.candidate.last_name ? listName(event.candidate) : "";
  return line(who, actor, event);
}

function addActivity(text, at) {
  const list = $("[data-activity]");
  const empty = $(".activity__empty", list);
  if (empty) empty.remove();
  const item = activityItem(text, at);
  list.prepend(item);
  while (list.children.length > ACTIVITY_MAX) list.lastElementChild.remove();
  return item;
}

function tellActivity(event) {
  if (isConnectionEvent(event)) {
    connectionActivity(event, $("[data-activity]"), addActivity);
    return;
  }
  const line = describe(event);
  if (line) addActivity(line, event.at);
}

// ------------------------------------------------------------------ live feed

let firstSnapshot = true;
let shownEvents = null;

function applySnapshot(snapshot) {
  state.asServed = firstSnapshot && snapshot.version === Number(listEl.dataset.version);
  firstSnapshot = false;
  // The socket's first snapshot is most often the page's own again: what it repeats is not redrawn.
  const events = JSON.stringify(snapshot.recent_events);
  if (Array.isArray(snapshot.recent_events) && events !== shownEvents) {
    shownEvents = events;
    const list = $("[data-activity]");
    for (const item of list.querySelectorAll(".activity__item")) item.remove();
    resetActivity();
    for (const event of snapshot.recent_events) tellActivity(event);
  }
  state.session = snapshot.session;
  reportsOnSnapshot(snapshot.reports);
  state.supervisors = snapshot.supervisors || [];
  state.candidates = new Map(snapshot.candidates.map((c) => [c.id, c]));
  state.counts = snapshot.counts;
  state.pending.clear();
  renderAll();
}

function applyEvent(event) {
  alertsOnEvent(event);
  reportsOnEvent(event);
  tellActivity(event);
  if (event.counts) state.counts = event.counts;
  if (event.name === EventName.CANDIDATE_UPDATED && event.candidate) {
    const c = event.candidate;
    const prev = state.candidates.get(c.id);
    state.candidates.set(c.id, c);
    state.pending.delete(c.id);
    const words = changes(prev, c);
    if (words.length) announce(t("%(name)s : %(changes)s", { name: listName(c), changes: words.join(", ") }));
  } else if (event.name === EventName.CANDIDATE_REMOVED && event.candidate) {
    state.candidates.delete(event.candidate.id);
  } else if (event.name === EventName.SUPERVISORS_UPDATED && Array.isArray(event.supervisors)) {
    state.supervisors = event.supervisors;
    renderSupervisors();
    return;
  } else if (event.name === EventName.SESSION_UPDATED && event.session) {
    const wasFinal = finalized();
    state.session = { ...state.session, ...event.session };
    if (!wasFinal && finalized()) {
      announce(t("La session a été finalisée"));
      feed.stop();
    }
  }
  renderSession();
  renderCounts();
  renderList();
  renderRoom();
}

function onStatus(link) {
  state.link = link;
  renderLink();
  renderList();
  renderRoom();
}

function onRefused(code) {
  if (code === CloseCode.NOT_LOGGED_IN) location.assign(loginUrl());
  else if (code === CloseCode.REVOKED) location.assign(`/surveillance?session=${sessionId}&info=retire`);
  else if (code === CloseCode.REPLACED) {
    // Not an error to fix: the same supervisor opened the dashboard elsewhere.
    $("[data-replaced-banner]").hidden = false;
    $("[data-replaced-banner] button").focus();
  } else location.assign(`/surveillance?session=${sessionId}&info=${finalized() ? "finalisee" : "acces"}`);
}

$("[data-reload]").addEventListener("click", () => location.reload());

const feed = new LiveFeed(liveUrl(`/api/supervision/sessions/${sessionId}/live`), {
  onState: applySnapshot,
  onEvent: applyEvent,
  onStatus,
  onRefused,
});

// ------------------------------------------------------------------ actions

function refusal(res) {
  if (res.error.code === "NOT_AUTHENTICATED") {
    location.assign(loginUrl());
    return;
  }
  if (res.error.code === "NO_SUPERVISOR_ACCESS") {
    location.assign(`/surveillance?session=${sessionId}&info=acces`);
    return;
  }
  toast(res.error.message, "error");
}

async function setPresence(c, authorized) {
  state.pending.set(c.id, authorized);
  renderList();
  const res = await api("POST", `/api/supervision/sessions/${sessionId}/candidates/${c.id}/presence`, { authorized }, { retry: true });
  if (!res.ok) {
    state.pending.delete(c.id);
    renderList();
    refusal(res);
    return;
  }
  // Normally the feed's event has already cleared the mark; if the feed is late, the answer
  // is as fresh as anything we hold, unless an event newer than our request has arrived.
  if (state.pending.has(c.id)) {
    state.pending.delete(c.id);
    const known = state.candidates.get(c.id);
    if (known && known.status === Status.NOT_STARTED) state.candidates.set(c.id, { ...known, authorized_to_start: res.data.candidate.authorized_to_start });
    renderList();
  }
}

async function authorizeResume(id) {
  const c = state.candidates.get(id);
  if (!c) return;
  const ok = await confirmDialog({
    title: t("Autoriser la reprise du test de %(name)s ?", { name: personName(c) }),
    body: [
      t(
        "Si le candidat a fermé la fenêtre de son test de certification (par erreur, ou à cause d'un problème technique) et est toujours présent dans la salle de test, vous pouvez lui permettre de reprendre son test à l'endroit où il l'avait quitté.",
      ),
    ],
    confirmLabel: t("Je confirme l'autorisation"),
  });
  if (!ok) return;
  const res = await api("POST", `/api/supervision/sessions/${sessionId}/candidates/${id}/authorize-resume`, undefined, { retry: true });
  if (!res.ok) return refusal(res);
  toast(t("Succès ! %(name)s peut reprendre son test de certification.", { name: personName(c) }));
}

$("[data-quit]").addEventListener("click", async () => {
  const ok = await confirmDialog({
    title: t("Quitter la surveillance de la session %(session)s ?", { session: sessionId }),
    body: [
      t("Le déroulement des tests des candidats n'en sera pas affecté."),
      t("Pour revenir, il vous faudra de nouveau le numéro de la session et son mot de passe."),
    ],
    confirmLabel: t("Quitter la surveillance"),
  });
  if (ok) {
    feed.stop();
    location.assign(`/surveillance?session=${sessionId}&info=quitte`);
  }
});

searchEl.addEventListener("input", () => {
  state.query = fold(searchEl.value);
  renderList();
});

// A menu closing lets its row catch up on what arrived while it was open.
document.addEventListener("focusin", () => renderList());

setInterval(renderList, OVERTIME_CHECK_MS);

setupAlerts({ sessionId, candidates: () => state.candidates.values(), onRefusal: refusal });
setupReports({ sessionId, candidates: () => state.candidates.values(), me: () => state.me, onRefusal: refusal });
setupFilters(() => {
  renderCounts();
  renderList();
});

initRoom({
  sessionId,
  candidates: () => [...state.candidates.values()],
  frozen,
  rerender: renderList,
  refusal,
});

feed.start();
feed.seed(initial);
