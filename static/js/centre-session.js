// One session seen by its centre: codes, candidates, kit, finalisation.
import { goToFinalization, renderFinalization, setupFinalization } from "./finalization.js";
import { api, fieldMessage, loginUrl } from "./api.js";
import { h, $ } from "./dom.js";
import { frDate, listName } from "./format.js";
import { confirmDialog, formValues, setBusy, showFormError, toast } from "./ui.js";
import { CandidateStatus as Status, SessionStatus } from "./vocabulary.js";

const main = $("[data-centre-session]");
const sessionId = Number(main.dataset.sessionId);
const addForm = $("[data-add-form]");
const importForm = $("[data-import-form]");
const LABELS = { last_name: "Nom", first_name: "Prénom", birthdate: "Date de naissance", extra_time_percentage: "Temps majoré" };
const STATUS = {
  [Status.NOT_STARTED]: ["Inscrit", "neutral"],
  [Status.IN_PROGRESS]: ["En cours", "success"],
  [Status.FINISHED]: ["Terminé", "neutral"],
  [Status.ENDED_BY_SUPERVISOR]: ["Terminé par le surveillant", "neutral"],
  [Status.ENDED_BY_FINALIZATION]: ["Terminé à la finalisation", "neutral"],
  [Status.ENDED_BY_EXPIRY]: ["Fermé automatiquement", "neutral"],
};
let session = null;

function pageError(message) {
  const box = $("[data-page-error]");
  box.hidden = !message;
  box.replaceChildren(message ? h("p", { text: message }) : "");
}

function refused(res) {
  if (res.status === 401) {
    location.assign(loginUrl());
    return true;
  }
  return false;
}

function candidateRow(c) {
  const [label, kind] = STATUS[c.status] || [c.status, "neutral"];
  const status = c.status === Status.NOT_STARTED && c.authorized_to_start ? ["Présence confirmée", "info"] : [label, kind];
  const remove =
    c.status === Status.NOT_STARTED && session.status !== SessionStatus.FINALIZED
      ? h("button", {
          type: "button",
          class: "button button--ghost button--small",
          "aria-label": `Retirer ${listName(c)}`,
          text: "Retirer",
          onclick: () => removeCandidate(c),
        })
      : null;
  return h(
    "tr",
    {},
    h("td", { class: "table__strong", text: String(c.last_name).toLocaleUpperCase("fr") }),
    h("td", { text: c.first_name }),
    h("td", { text: frDate(c.birthdate) }),
    h("td", { text: c.extra_time_percentage ? `${c.extra_time_percentage} %` : "—" }),
    h("td", {}, h("span", { class: `tag tag--${status[1]}`, text: status[0] })),
    h("td", {}, remove),
  );
}

async function load() {
  const res = await api("GET", `/api/sessions/${sessionId}`);
  if (!res.ok) {
    if (!refused(res)) pageError(res.error.message);
    return;
  }
  session = res.data.session;
  const { candidates } = res.data;
  $("[data-session-date]").textContent = `${frDate(session.date)} · ${session.time}`;
  $("[data-session-centre]").textContent = session.centre;
  $("[data-session-site]").textContent = session.address;
  $("[data-session-room]").textContent = session.room;
  $("[data-session-examiner]").textContent = session.examiner;
  $("[data-session-password]").textContent = session.supervisor_password || "";
  $("[data-session-code]").textContent = session.access_code || "";
  const final = session.status === SessionStatus.FINALIZED;
  $("[data-session-status]").replaceChildren(h("span", { class: `tag ${final ? "tag--neutral" : "tag--success"}`, text: final ? "Finalisée" : "Ouverte" }));
  $("[data-finalize]").hidden = final;
  for (const el of document.querySelectorAll("[data-editing]")) el.hidden = final;
  $("[data-cand-count]").textContent = `(${candidates.length})`;
  $("[data-cand-rows]").replaceChildren(...candidates.map(candidateRow));
  $("[data-cand-empty]").hidden = candidates.length > 0;
  renderFinalization(res.data);
}

function supervisorRow(sup) {
  return h(
    "li",
    { class: "supervisor-list__row" },
    h("span", { class: "table__strong", text: sup.name }),
    h("span", { class: "muted", text: ` ${sup.email}` }),
    h("span", { class: `tag ${sup.online ? "tag--success" : "tag--neutral"}`, text: sup.online ? "En ligne" : "Hors ligne" }),
    h("button", {
      type: "button",
      class: "button button--ghost button--small",
      "aria-label": `Retirer l'accès de ${sup.name}`,
      text: "Retirer l'accès",
      onclick: () => revoke(sup),
    }),
  );
}

async function loadSupervisors() {
  if (!session || session.status === "finalized") return;
  const res = await api("GET", `/api/sessions/${sessionId}/supervisors`);
  if (!res.ok) {
    if (!refused(res)) pageError(res.error.message);
    return;
  }
  const sups = res.data.supervisors;
  $("[data-sup-count]").textContent = `(${sups.length})`;
  $("[data-sup-rows]").replaceChildren(...sups.map(supervisorRow));
  $("[data-sup-empty]").hidden = sups.length > 0;
}

async function revoke(sup) {
  const ok = await confirmDialog({
    title: `Retirer l'accès de ${sup.name} ?`,
    body: [
      "Ses tableaux de bord de cette session se ferment aussitôt.",
      "S'il connaît le mot de passe de la session, il peut revenir : donnez ensuite un nouveau mot de passe à la session.",
    ],
    confirmLabel: "Retirer l'accès",
    danger: true,
  });
  if (!ok) return;
  const res = await api("DELETE", `/api/sessions/${sessionId}/supervisors/${sup.id}`);
  if (!res.ok) {
    if (!refused(res)) toast(res.error.message, "error");
    return;
  }
  toast(`L'accès de ${sup.name} à la session a été retiré.`);
  await loadSupervisors();
  $("#sups-title").focus({ preventScroll: true });
}

$("[data-rotate]").addEventListener("click", async () => {
  const ok = await confirmDialog({
    title: "Donner un nouveau mot de passe à la session ?",
    body: [
      "L'ancien mot de passe ne permettra plus d'accéder à la surveillance. Les surveillants déjà entrés gardent leur accès.",
      "Communiquez le nouveau mot de passe aux surveillants qui doivent encore entrer (le kit surveillant le contient).",
    ],
    confirmLabel: "Changer le mot de passe",
  });
  if (!ok) return;
  const res = await api("POST", `/api/sessions/${sessionId}/supervisor-password`);
  if (!res.ok) {
    if (!refused(res)) toast(res.error.message, "error");
    return;
  }
  $("[data-session-password]").textContent = res.data.session.supervisor_password;
  toast(`Nouveau mot de passe de la session : ${res.data.session.supervisor_password}`);
});

async function removeCandidate(c) {
  const ok = await confirmDialog({
    title: `Retirer ${listName(c)} de la session ?`,
    body: ["Le candidat ne pourra plus rejoindre cette session, sauf s'il y est inscrit de nouveau."],
    confirmLabel: "Retirer le candidat",
    danger: true,
  });
  if (!ok) return;
  const res = await api("DELETE", `/api/sessions/${sessionId}/candidates/${c.id}`);
  if (!res.ok) {
    if (!refused(res)) toast(res.error.message, "error");
    return;
  }
  toast(`${listName(c)} a été retiré de la session.`);
  await load();
  $("#cands-title").focus({ preventScroll: true });
}

addForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const values = formValues(addForm);
  const missing = ["last_name", "first_name", "birthdate"].filter((k) => !values[k]);
  if (missing.length) {
    showFormError(addForm, `Champs à renseigner : ${missing.map((k) => LABELS[k]).join(", ")}.`);
    addForm.querySelector(`[name="${missing[0]}"]`).focus();
    return;
  }
  const body = { last_name: values.last_name, first_name: values.first_name, birthdate: values.birthdate };
  if (values.extra_time_percentage) body.extra_time_percentage = Number(values.extra_time_percentage);
  const button = addForm.querySelector('[type="submit"]');
  setBusy(button, true);
  const res = await api("POST", `/api/sessions/${sessionId}/candidates`, body);
  setBusy(button, false);
  if (!res.ok) {
    if (!refused(res)) showFormError(addForm, fieldMessage(res.error, LABELS));
    return;
  }
  showFormError(addForm, null);
  addForm.reset();
  toast(`${listName(res.data.candidate)} est inscrit à la session.`);
  await load();
  addForm.querySelector("#last_name").focus();
});

importForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = importForm.querySelector("#csv").files[0];
  if (!file) {
    showFormError(importForm, "Choisissez un fichier CSV.");
    importForm.querySelector("#csv").focus();
    return;
  }
  const button = importForm.querySelector('[type="submit"]');
  setBusy(button, true);
  // Sent as bytes: the server recognises the file's encoding itself.
  const res = await api("POST", `/api/sessions/${sessionId}/candidates/import`, await file.arrayBuffer(), { contentType: "text/csv" });
  setBusy(button, false);
  if (res.ok) {
    showFormError(importForm, null);
    importForm.reset();
    toast(`${res.data.imported} candidat(s) importé(s).`);
    await load();
    return;
  }
  if (refused(res)) return;
  const rows = res.error.rows || [];
  showFormError(importForm, [
    h("p", { text: res.error.message }),
    rows.length
      ? h(
          "ul",
          {},
          rows.map((r) => h("li", { text: `Ligne ${r.line}${r.field ? ` (${r.field})` : ""} : ${r.message}` })),
        )
      : null,
  ].filter(Boolean));
});

$("[data-finalize]").addEventListener("click", goToFinalization);
setupFinalization({ sessionId, reload: load, onRefused: refused });

load().then(loadSupervisors);
