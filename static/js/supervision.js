// The espace surveillant of one session: live list, presence, resume, end of test.
import { alertBadge, alertButton, alertsOnEvent, renderAlerts, setupAlerts } from "./alerts.js";
import { activityItem, connectionActivity, isConnectionEvent, resetActivity } from "./activity.js";
import { inFilter, renderFilters, setupFilters } from "./filters.js";
import { endTestWithReason, openReports, reportsLink, reportsOnEvent, reportsOnSnapshot, setupReports } from "./reports.js";
import { api, loginUrl } from "./api.js";
import { embedded, h, $ } from "./dom.js";
import { clock, fold, listName, personName, shortDate } from "./format.js";
import { t } from "./i18n.js";
import { Link, LiveFeed, liveUrl } from "./live.js";
import { actionMenu } from "./menu.js";
import { announce, confirmDialog, toast } from "./ui.js";
import { Action, CandidateStatus as Status, CloseCode, Connection, EventName, SessionStatus, isEnded } from "./vocabulary.js";
import { ROOM_ACTIVITY, initRoom, renderRoom, roomChanges, roomMenuItems, roomSignature, roomTags, selectBox } from "./room.js";

const main = $("[data-dashboard]");
const sessionId = Number(main.dataset.sessionId);
const listEl = $("[data-candidates]");
const searchEl = $("[data-search]");
const OVERTIME_CHECK_MS = 30000;
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
  query: "",
};

// ------------------------------------------------------------------ derived facts

function isOvertime(c) {
  if (c.status !== Status.IN_PROGRESS) return false;
  if (c.overtime) return true;
  // A paused clock stands still: the server's word holds until the test resumes.
  if (c.paused) return false;
  // The server computes overtime when it sends; time passes between events.
  return Boolean(c.theoretical_end_at) && Date.now() > Date.parse(c.theoretical_end_at);
}

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

function tag(text, kind) {
  return h("span", { class: `tag tag--${kind}`, text });
}

function statusTags(c) {
  const tags = [];
  if (c.status === Status.IN_PROGRESS) {
    if (c.resume_requested) tags.push(tag(t("Reprise demandée"), "warning"));
    tags.push(tag(t("En cours"), "success"));
    if (c.resume_authorized) tags.push(tag(t("Reprise autorisée"), "info"));
  } else if (isEnded(c.status)) {
    tags.push(tag(t("Terminé"), "neutral"));
  }
  tags.push(...roomTags(c, tag));
  if (c.connection === Connection.LOST && !isEnded(c.status)) tags.push(tag(t("Connexion perdue"), "danger"));
  if (isOvertime(c)) tags.push(tag(t("Temps écoulé"), "danger"));
  // A pending alert outranks every other tag: it comes first, whatever else is true.
  if (c.alert) tags.unshift(alertBadge(c));
  return tags;
}

function endNote(c) {
  if (c.status === Status.ENDED_BY_SUPERVISOR) return t("Test terminé par un surveillant");
  if (c.status === Status.ENDED_BY_FINALIZATION) return t("Test terminé à la finalisation de la session");
  if (c.status === Status.ENDED_BY_EXPIRY) return t("Test fermé automatiquement (ouvert depuis trop longtemps)");
  return null;
}

function progress(c) {
  const { answered, total } = c.progress;
  const percent = total ? Math.round((answered / total) * 100) : 0;
  return h(
    "div",
    { class: "progress" },
    h("span", { class: "progress__text", "aria-hidden": "true", text: `${answered}/${total}` }),
    h(
      "span",
      {
        class: "progress__bar",
        role: "progressbar",
        "aria-label": t("Questions répondues par %(name)s", { name: listName(c) }),
        "aria-valuemin": "0",
        "aria-valuemax": String(total),
        "aria-valuenow": String(answered),
        "aria-valuetext": t("%(answered)s sur %(total)s", { answered, total }),
      },
      h("span", { class: "progress__fill", style: { width: `${percent}%` } }),
    ),
  );
}

function timing(c) {
  if (!c.started_at) return null;
  const parts = [t("Début %(time)s", { time: clock(c.started_at) })];
  if (c.theoretical_end_at && !isEnded(c.status)) parts.push(t("fin théorique %(time)s", { time: clock(c.theoretical_end_at) }));
  if (isEnded(c.status) && c.ended_at) parts.push(t("fin %(time)s", { time: clock(c.ended_at) }));
  if (c.extra_time_percentage) parts.push(t("temps majoré +%(percent)s %%", { percent: c.extra_time_percentage }));
  return h("p", { class: "candidate__timing", text: parts.join(" · ") });
}

function identity(c) {
  return [
    h("span", { class: "candidate__name", text: listName(c) }),
    h("span", { class: "candidate__birth", text: shortDate(c.birthdate) }),
  ];
}

function renderRow(c) {
  const classes = ["candidate"];
  if (c.resume_requested && c.status === Status.IN_PROGRESS) classes.push("candidate--attention");
  if (isEnded(c.status)) classes.push("candidate--done");
  if (c.alert) classes.push("candidate--alert");
  const row = h("li", { class: classes.join(" "), dataset: { candidateId: String(c.id) } });

  if (c.status === Status.NOT_STARTED) {
    const asked = state.pending.get(c.id);
    const checked = asked !== undefined ? asked : c.authorized_to_start;
    const box = h("input", {
      type: "checkbox",
      id: `presence-${c.id}`,
      class: "candidate__check",
      checked,
      disabled: frozen(),
      // While the tick is on its way the box stays focusable (a disabled one would drop
      // the keyboard to the page body): aria-disabled, and clicks are ignored.
      "aria-disabled": asked !== undefined ? "true" : undefined,
      dataset: { focusKey: "presence" },
    });
    box.addEventListener("click", (event) => {
      if (state.pending.has(c.id)) event.preventDefault();
    });
    box.addEventListener("change", () => setPresence(c, box.checked));
    row.append(
      h(
        "div",
        { class: "candidate__who" },
        selectBox(c),
        box,
        h("label", { for: `presence-${c.id}`, class: "candidate__label" }, identity(c)),
      ),
    );
  } else {
    row.append(h("div", { class: "candidate__who" }, selectBox(c), h("span", { class: "candidate__spacer", "aria-hidden": "true" }), h("div", { class: "candidate__label" }, identity(c))));
  }

  const details = h("div", { class: "candidate__details" });
  const tags = statusTags(c);
  if (tags.length) details.append(h("div", { class: "tags" }, tags));
  if (c.resume_while_connected && c.status === "in_progress") {
    // Someone asks to resume while the browser taking the test is still connected:
    // it may be someone else claiming to be this candidate.
    details.append(
      h("p", {
        class: "candidate__warning",
        "data-resume-warning": "",
        text: t("Attention : le poste d'origine de ce candidat est toujours connecté. Vérifiez qui demande la reprise avant de l'autoriser."),
      }),
    );
  }
  const note = endNote(c);
  if (note) details.append(h("p", { class: "candidate__timing", text: note }));
  if (c.status !== Status.NOT_STARTED) details.append(progress(c));
  const times = timing(c);
  if (times) details.append(times);
  row.append(details);

  const actions = h("div", { class: "candidate__actions" });
  if (c.alert) details.append(alertButton(c, frozen()));
  const reports = reportsLink(c, frozen());
  if (reports) details.append(reports);
  const report = { label: t("Rédiger un rapport d'incident"), onSelect: () => openReports(c.id) };
  const items =
    c.status === Status.IN_PROGRESS
      ? [
          { label: t("Autoriser la reprise du test"), onSelect: () => authorizeResume(c.id) },
          ...roomMenuItems(c),
          report,
          // The irreversible one stays last.
          { label: t("Terminer le test"), danger: true, onSelect: () => endTestWithReason(c.id) },
        ]
      : [report];
  const menu = actionMenu({ label: t("Afficher les actions pour %(name)s", { name: listName(c) }), disabled: frozen(), items });
  menu.button.dataset.focusKey = "menu";
  row.menu = menu;
  actions.append(menu.root);
  row.append(actions);
  return row;
}

function signature(c) {
  return JSON.stringify([c, isOvertime(c), state.pending.get(c.id), frozen(), roomSignature(c)]);
}

function renderList() {
  if (!state.session) return;
  const active = document.activeElement;
  const activeRow = active && active.closest ? active.closest("[data-candidate-id]") : null;
  const activeKey = active && active.dataset ? active.dataset.focusKey : undefined;

  const wanted = sorted();
  const rows = [];
  const seen = new Set();
  for (const c of wanted) {
    seen.add(c.id);
    const previous = state.rows.get(c.id);
    const sig = signature(c);
    let el = previous && previous.sig === sig ? previous.el : null;
    // Never pull a menu from under the keyboard; the row is redrawn when it closes.
    if (!el && previous && previous.el.menu && previous.el.menu.isOpen()) el = previous.el;
    if (!el) {
      el = renderRow(c);
      state.rows.set(c.id, { el, sig });
    }
    el.hidden = !matches(c);
    rows.push(el);
  }
  for (const id of [...state.rows.keys()]) if (!seen.has(id)) state.rows.delete(id);

  const current = [...listEl.children];
  const sameOrder = current.length === rows.length && current.every((el, i) => el === rows[i]);
  if (!sameOrder) listEl.replaceChildren(...rows);
  if (!rows.length) listEl.append(h("li", { class: "candidate-list__empty muted", text: t("Aucun candidat n'est inscrit à cette session.") }));
  renderAlerts();
  $("[data-no-match]").hidden = !(rows.length && rows.every((r) => r.hidden));

  // Keep the keyboard where it was when its row was redrawn or moved.
  if (active && active !== document.activeElement && activeRow) {
    const id = Number(activeRow.dataset.candidateId);
    const row = state.rows.get(id);
    if (active.isConnected) active.focus();
    else if (row) {
      const target = (activeKey && row.el.querySelector(`[data-focus-key="${activeKey}"]`)) || row.el.querySelector("input, button");
      if (target && !target.disabled) target.focus();
      else if (row.el) row.el.querySelector("input, button")?.focus();
    }
  }
}

function renderCounts() {
  if (!state.counts) return;
  for (const [key, value] of Object.entries(state.counts)) {
    const el = $(`[data-count="${key}"]`);
    if (el) el.textContent = String(value);
    // "1 terminé", "2 terminés": every label agrees with its number.
    const label = $(`[data-count-label="${key}"]`);
    if (label) label.textContent = value > 1 ? label.dataset.many : label.dataset.one;
  }
  renderFilters(state.candidates.values(), attention);
}

function renderSession() {
  const s = state.session;
  $("[data-session-date]").textContent = `${shortDate(s.date)} · ${s.time}`;
  $("[data-session-site]").textContent = s.address || s.centre;
  $("[data-session-room]").textContent = s.room;
  $("[data-session-examiner]").textContent = s.examiner;
  $("[data-session-code]").textContent = s.access_code || "";
  $("[data-finalized-banner]").hidden = !finalized();
}

function renderSupervisors() {
  const el = $("[data-supervisors]");
  el.replaceChildren(
    ...state.supervisors.map((s) =>
      h(
        "li",
        { class: "person" },
        h("span", { class: `dot ${s.online ? "dot--on" : "dot--off"}`, "aria-hidden": "true" }),
        h("span", { class: "person__name", text: s.name }),
        state.me && s.id === state.me.id ? h("span", { class: "person__me", text: t("(vous)") }) : null,
        h("span", { class: "person__state", text: s.online ? t("en ligne") : t("hors ligne") }),
      ),
    ),
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

function applySnapshot(snapshot) {
  if (Array.isArray(snapshot.recent_events)) {
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
feed.seed(embedded("snapshot"));
