// Room control in the espace surveillant: pause and resume (one candidate or the room),
// time adjustment, messages, and actions on a selection of candidates.
//
// supervision.js owns the list and the live feed; this module adds to each row (tags,
// menu entries, a selection box) and drives the room's toolbar and its dialogs.
import { api } from "./api.js";
import { h, setText, $ } from "./dom.js";
import { listName, personName, signed } from "./format.js";
import { t, tn } from "./i18n.js";
import { confirmDialog, toast } from "./ui.js";
import { Action, BulkAction, CandidateStatus as Status } from "./vocabulary.js";

const MESSAGE_MAX = 280;
const PAUSE_MESSAGE_MAX = 300;
const REASON_MAX = 300;
const REPORT_COMMENT_MAX = 1000;

const room = {
  sessionId: null,
  candidates: () => [],
  frozen: () => true,
  rerender: () => {},
  refusal: () => {},
  selecting: false,
  selected: new Set(),
};

const url = (tail) => `/api/supervision/sessions/${room.sessionId}${tail}`;
const running = () => room.candidates().filter((c) => c.status === Status.IN_PROGRESS);

// ------------------------------------------------------------------ rows

// What, beyond the candidate's view, a row shows of the room: the selection.
export function selection(id) {
  return { selecting: room.selecting, selected: room.selected.has(id) };
}

export function select(id, on) {
  if (on) room.selected.add(id);
  else room.selected.delete(id);
  renderRoom();
  room.rerender();
}

// A row's menu entries that belong to the room (the markup is the row's template).
export const ROOM_ACTIONS = {
  pause: (id) => pauseOne(id),
  unpause: (id) => resumeOne(id),
  adjust_time: (id) => adjustTime(id),
  message: (id) => messageTo(id),
};

// ------------------------------------------------------------------ activity and announcements

export const ROOM_ACTIVITY = {
  [Action.PAUSED]: (who, actor) => t("%(actor)s a mis en pause le test de %(name)s", { actor, name: who }),
  [Action.UNPAUSED]: (who, actor) => t("%(actor)s a repris le test de %(name)s", { actor, name: who }),
  [Action.TIME_ADJUSTED]: (who, actor, event) => {
    const a = event.adjustment || {};
    const params = { actor, name: who, minutes: signed(a.minutes || 0), reason: a.reason };
    return a.reason
      ? t("%(actor)s a ajusté le temps de %(name)s : %(minutes)s (%(reason)s)", params)
      : t("%(actor)s a ajusté le temps de %(name)s : %(minutes)s", params);
  },
  [Action.ENDED_BY_EXPIRY]: (who) => t("Le test de %(name)s a été fermé automatiquement (ouvert depuis trop longtemps)", { name: who }),
  [Action.MESSAGE_SENT]: (who, actor, event) => {
    const m = event.message || {};
    const text = m.text || "";
    return m.to
      ? t("%(actor)s a envoyé un message à %(name)s : « %(text)s »", { actor, name: listName(m.to), text })
      : t("%(actor)s a envoyé un message à la salle : « %(text)s »", { actor, text });
  },
};

export function roomChanges(prev, c) {
  const words = [];
  if (!prev) return words;
  if (!prev.paused && c.paused) words.push(t("test en pause"));
  if (prev.paused && !c.paused && c.status === Status.IN_PROGRESS) words.push(t("test repris après la pause"));
  if (prev.time_adjustment_minutes !== c.time_adjustment_minutes) {
    words.push(t("temps ajusté %(minutes)s", { minutes: signed(c.time_adjustment_minutes - prev.time_adjustment_minutes) }));
  }
  if (prev.status !== Status.ENDED_BY_EXPIRY && c.status === Status.ENDED_BY_EXPIRY) words.push(t("test fermé automatiquement"));
  return words;
}

// ------------------------------------------------------------------ the form dialog

// A modal form whose submit waits for the server: a refusal is shown inside it, where the
// supervisor can correct the value, and the dialog closes only once the action is done.
function formDialog({ title, intro, fields, confirmLabel, submit, danger = false }) {
  const dialog = $("[data-room-dialog]");
  const form = $("form", dialog);
  const opener = document.activeElement;
  $("[data-room-dialog-title]", dialog).textContent = title;
  const body = $("[data-room-dialog-body]", dialog);
  const error = $("[data-room-dialog-error]", dialog);
  error.hidden = true;
  error.textContent = "";
  const inputs = fields.map((f) => {
    const id = `room-field-${f.name}`;
    const attrs = { id, name: f.name, required: Boolean(f.required) };
    if (f.hint) attrs["aria-describedby"] = `${id}-hint`;
    let input;
    if (f.type === "textarea") input = h("textarea", { ...attrs, rows: "3", maxlength: String(f.maxlength) });
    else if (f.type === "select") {
      input = h("select", attrs, h("option", { value: "", text: f.placeholder }), f.options.map(([value, text]) => h("option", { value, text })));
    }
    else input = h("input", { ...attrs, type: "number", inputmode: "numeric", min: String(f.min), max: String(f.max), step: "1" });
    return h(
      "div",
      { class: "field" },
      h("label", { for: id, text: f.label }),
      input,
      f.hint ? h("p", { class: "hint", id: `${id}-hint`, text: f.hint }) : null,
    );
  });
  body.replaceChildren(...(intro ? [h("p", { text: intro })] : []), ...inputs);
  const ok = $("[data-room-dialog-ok]", dialog);
  ok.textContent = confirmLabel;
  ok.classList.toggle("button--danger", danger);

  return new Promise((resolve) => {
    let busy = false;
    const onSubmit = async (event) => {
      event.preventDefault();
      if (busy) return;
      const values = Object.fromEntries(new FormData(form));
      busy = true;
      ok.disabled = true;
      const problem = await submit(values);
      busy = false;
      ok.disabled = false;
      if (problem) {
        error.textContent = problem;
        error.hidden = false;
        const first = form.querySelector("input, select, textarea");
        if (first) first.focus();
        return;
      }
      dialog.close("done");
    };
    const onCancel = () => dialog.close("cancel");
    form.addEventListener("submit", onSubmit);
    $("[data-room-dialog-cancel]", dialog).addEventListener("click", onCancel);
    dialog.addEventListener(
      "close",
      () => {
        form.removeEventListener("submit", onSubmit);
        $("[data-room-dialog-cancel]", dialog).removeEventListener("click", onCancel);
        if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
        resolve(dialog.returnValue === "done");
      },
      { once: true },
    );
    dialog.returnValue = "";
    dialog.showModal();
    const first = form.querySelector("input, select, textarea");
    if (first) first.focus();
  });
}

// The server's refusal, said in the dialog; a lost login or access leaves the page.
async function call(method, path, body) {
  const res = await api(method, path, body);
  if (res.ok) return { res, problem: null };
  if (res.error.code === "NOT_AUTHENTICATED" || res.error.code === "NO_SUPERVISOR_ACCESS") {
    room.refusal(res);
    return { res, problem: null };
  }
  return { res, problem: res.error.message };
}

// ------------------------------------------------------------------ one candidate

const find = (id) => room.candidates().find((c) => c.id === id);

async function pauseOne(id) {
  const c = find(id);
  if (!c) return;
  const done = await formDialog({
    title: t("Mettre en pause le test de %(name)s ?", { name: personName(c) }),
    intro: t("Son chronomètre s'arrête et la question est masquée jusqu'à la reprise. Le temps de pause lui est rendu."),
    fields: [{ name: "message", label: t("Message affiché au candidat (facultatif)"), type: "textarea", maxlength: PAUSE_MESSAGE_MAX }],
    confirmLabel: t("Mettre en pause"),
    submit: async (v) => (await call("POST", url(`/candidates/${id}/pause`), { message: v.message || null })).problem,
  });
  if (done) toast(t("Le test de %(name)s est en pause.", { name: personName(c) }));
}

async function resumeOne(id) {
  const c = find(id);
  if (!c) return;
  const { problem } = await call("POST", url(`/candidates/${id}/resume`));
  if (problem) toast(problem, "error");
  else toast(t("Le test de %(name)s a repris.", { name: personName(c) }));
}

async function adjustTime(id) {
  const c = find(id);
  if (!c) return;
  const done = await formDialog({
    title: t("Ajuster le temps de %(name)s", { name: personName(c) }),
    intro: t("La fin théorique et le compte à rebours du candidat changent aussitôt."),
    fields: [
      {
        name: "minutes",
        label: t("Minutes à ajouter (ou à retirer avec un signe −)"),
        min: -30,
        max: 120,
        required: true,
        hint: t("Entre −30 et +120 minutes."),
      },
      { name: "reason", label: t("Motif"), type: "textarea", maxlength: REASON_MAX, required: true },
    ],
    confirmLabel: t("Ajuster le temps"),
    submit: async (v) => {
      const minutes = Number(v.minutes);
      if (!Number.isInteger(minutes)) return t("Indiquez un nombre entier de minutes.");
      return (await call("POST", url(`/candidates/${id}/adjust-time`), { minutes, reason: v.reason || "" })).problem;
    },
  });
  if (done) toast(t("Le temps de %(name)s a été ajusté.", { name: personName(c) }));
}

async function messageTo(id) {
  const c = id === null ? null : find(id);
  const done = await formDialog({
    title: c ? t("Message à %(name)s", { name: personName(c) }) : t("Message à toute la salle"),
    intro: t("Le message s'affiche sur l'écran du ou des candidats jusqu'à ce qu'ils le ferment."),
    fields: [
      {
        name: "text",
        label: t("Message"),
        type: "textarea",
        maxlength: MESSAGE_MAX,
        required: true,
        hint: t("%(max)s caractères au maximum.", { max: MESSAGE_MAX }),
      },
    ],
    confirmLabel: t("Envoyer"),
    submit: async (v) => (await call("POST", url("/messages"), { text: v.text || "", candidate_id: c ? c.id : null })).problem,
  });
  if (done) toast(t("Message envoyé."));
}

// ------------------------------------------------------------------ the room and the selection

async function pauseRoom() {
  const count = running().filter((c) => !c.paused).length;
  const done = await formDialog({
    title: tn("Mettre la salle en pause (%(n)s test en cours) ?", "Mettre la salle en pause (%(n)s tests en cours) ?", count),
    intro: t("Les chronomètres s'arrêtent et les questions sont masquées jusqu'à la reprise. Un candidat qui commence plus tard n'est pas mis en pause."),
    fields: [{ name: "message", label: t("Message affiché aux candidats (facultatif)"), type: "textarea", maxlength: PAUSE_MESSAGE_MAX }],
    confirmLabel: t("Mettre la salle en pause"),
    submit: async (v) => (await call("POST", url("/pause"), { message: v.message || null })).problem,
  });
  if (done) toast(t("La salle est en pause."));
}

async function resumeRoom() {
  const count = running().filter((c) => c.paused).length;
  const ok = await confirmDialog({
    title: tn("Reprendre %(n)s test en pause ?", "Reprendre %(n)s tests en pause ?", count),
    body: [t("Le temps de pause est rendu à chaque candidat.")],
    confirmLabel: t("Reprendre les tests"),
  });
  if (!ok) return;
  const { problem } = await call("POST", url("/resume"));
  if (problem) toast(problem, "error");
  else toast(t("Les tests ont repris."));
}

// Each action on a selection: its dialog's words (n: how many candidates) and its toast.
const BULK = {
  [BulkAction.CONFIRM_PRESENCE]: () => ({
    title: (n) => tn("Confirmer la présence de %(n)s candidat ?", "Confirmer la présence de %(n)s candidats ?", n),
    label: t("Confirmer la présence"),
    body: t("Ils pourront commencer leur test de certification."),
    done: (n) => tn("Présences confirmées. (%(n)s candidat)", "Présences confirmées. (%(n)s candidats)", n),
  }),
  [BulkAction.PAUSE]: () => ({
    title: (n) => tn("Mettre en pause le test de %(n)s candidat ?", "Mettre en pause le test de %(n)s candidats ?", n),
    label: t("Mettre en pause"),
    body: t("Leurs chronomètres s'arrêtent jusqu'à la reprise."),
    done: (n) => tn("Tests mis en pause. (%(n)s candidat)", "Tests mis en pause. (%(n)s candidats)", n),
  }),
  [BulkAction.RESUME]: () => ({
    title: (n) => tn("Reprendre le test de %(n)s candidat ?", "Reprendre le test de %(n)s candidats ?", n),
    label: t("Reprendre"),
    body: t("Le temps de pause leur est rendu."),
    done: (n) => tn("Tests repris. (%(n)s candidat)", "Tests repris. (%(n)s candidats)", n),
  }),
  [BulkAction.END_TEST]: () => ({
    title: (n) => tn("Terminer le test de %(n)s candidat ?", "Terminer le test de %(n)s candidats ?", n),
    label: t("Terminer les tests"),
    body: t("Attention : cette action entraîne la fin de leur test de certification et est irréversible."),
    done: (n) => tn("Tests terminés. (%(n)s candidat)", "Tests terminés. (%(n)s candidats)", n),
    danger: true,
  }),
};

// The report categories, as the page's « Terminer le test » dialog lists them.
const endReasons = () => [...document.querySelectorAll("[data-end-form] select[name=category] option")].filter((o) => o.value).map((o) => [o.value, o.textContent]);

function bulkDone(spec, n) {
  toast(spec.done(n));
  room.selected.clear();
  renderRoom();
  room.rerender();
}

async function bulk(action, everyone = false) {
  const spec = BULK[action]();
  const ids = everyone ? running().map((c) => c.id) : [...room.selected];
  if (!ids.length) {
    toast(everyone ? t("Aucun test en cours.") : t("Sélectionnez d'abord des candidats."), "error");
    return;
  }
  const n = ids.length;
  const title = everyone
    ? tn("Terminer tous les tests en cours (%(n)s candidat) ?", "Terminer tous les tests en cours (%(n)s candidats) ?", n)
    : spec.title(n);
  const body = [spec.body, t("Si l'action est impossible pour l'un d'eux, aucun candidat n'est modifié.")];
  const target = everyone ? { action, all_in_progress: true } : { action, candidate_ids: ids };
  if (action === BulkAction.END_TEST) {
    // The reason « Terminer le test » asks for one candidate, recorded for each: the
    // procès-verbal says why every test was ended.
    const done = await formDialog({
      title,
      intro: body.join(" "),
      confirmLabel: spec.label,
      danger: true,
      fields: [
        { name: "category", label: t("Motif"), type: "select", required: true, placeholder: t("Choisissez le motif"), options: endReasons() },
        { name: "comment", label: t("Commentaire (facultatif)"), type: "textarea", maxlength: REPORT_COMMENT_MAX },
      ],
      submit: async ({ category, comment }) => {
        if (!category) return t("Choisissez le motif de la fin des tests.");
        const { problem } = await call("POST", url("/bulk"), { ...target, category, comment: comment.trim() });
        return problem;
      },
    });
    if (done) bulkDone(spec, n);
    return;
  }
  const ok = await confirmDialog({ title, body, confirmLabel: spec.label, danger: Boolean(spec.danger) });
  if (!ok) return;
  const { res, problem } = await call("POST", url("/bulk"), target);
  if (problem) {
    toast(problem, "error");
    return;
  }
  if (res.ok) bulkDone(spec, n);
}

function toggleSelecting() {
  room.selecting = !room.selecting;
  if (!room.selecting) room.selected.clear();
  renderRoom();
  room.rerender();
}

function disable(el, on) {
  if (el.disabled !== on) el.disabled = on;
}

export function renderRoom() {
  const bar = $("[data-room-bar]");
  if (!bar) return;
  const frozen = room.frozen();
  const live = running();
  // Forget selected candidates who left the list.
  const known = new Set(room.candidates().map((c) => c.id));
  for (const id of [...room.selected]) if (!known.has(id)) room.selected.delete(id);
  const paused = live.filter((c) => c.paused).length;
  const inProgress = tn("%(n)s test en cours", "%(n)s tests en cours", live.length);
  setText(
    $("[data-room-status]"),
    paused ? tn("%(n)s test en pause sur %(running)s", "%(n)s tests en pause sur %(running)s", paused, { running: inProgress }) : inProgress,
  );
  disable($("[data-room-pause]"), frozen || !live.some((c) => !c.paused));
  disable($("[data-room-resume]"), frozen || !live.some((c) => c.paused));
  disable($("[data-room-message]"), frozen);
  disable($("[data-room-end-all]"), frozen || !live.length);
  const toggle = $("[data-room-select]");
  // A frozen room (finalised, or the link down) opens no selection; one already open can
  // still be closed, and its actions wait with the others.
  disable(toggle, frozen && !room.selecting);
  toggle.setAttribute("aria-pressed", room.selecting ? "true" : "false");
  setText(toggle, room.selecting ? t("Fermer la sélection") : t("Sélectionner des candidats"));
  const selection = $("[data-room-selection]");
  if (selection.hidden === room.selecting) selection.hidden = !room.selecting;
  setText(
    $("[data-room-count]"),
    room.selected.size ? tn("%(n)s candidat sélectionné", "%(n)s candidats sélectionnés", room.selected.size) : t("Aucun candidat sélectionné"),
  );
  for (const button of selection.querySelectorAll("[data-bulk]")) disable(button, frozen || !room.selected.size);
}

export function initRoom({ sessionId, candidates, frozen, rerender, refusal }) {
  Object.assign(room, { sessionId, candidates, frozen, rerender, refusal });
  $("[data-room-pause]").addEventListener("click", pauseRoom);
  $("[data-room-resume]").addEventListener("click", resumeRoom);
  $("[data-room-message]").addEventListener("click", () => messageTo(null));
  $("[data-room-end-all]").addEventListener("click", () => bulk(BulkAction.END_TEST, true));
  $("[data-room-select]").addEventListener("click", toggleSelecting);
  $("[data-room-select-all]").addEventListener("click", () => {
    for (const c of room.candidates()) room.selected.add(c.id);
    renderRoom();
    room.rerender();
  });
  for (const button of document.querySelectorAll("[data-bulk]")) button.addEventListener("click", () => bulk(button.dataset.bulk));
  renderRoom();
}
