// One session seen by its centre: codes, candidates, kit, finalisation.
import { goToFinalization, renderFinalization, setupFinalization } from "./finalization.js";
import { api, fieldMessage, loginUrl } from "./api.js";
import { h, $ } from "./dom.js";
import { listName } from "./format.js";
import { t, tn } from "./i18n.js";
import { confirmDialog, filledIn, formValues, setBusy, showFormError, toast } from "./ui.js";

const main = $("[data-centre-session]");
const sessionId = Number(main.dataset.sessionId);
const addForm = $("[data-add-form]");
const importForm = $("[data-import-form]");
const LABELS = { last_name: t("Nom"), first_name: t("Prénom"), birthdate: t("Date de naissance"), extra_time_percentage: t("Temps majoré") };

// The page arrives complete from the server. After a change, its regions (data-region) are
// read again from the page's own URL, rendered by the same template: no second rendering here.
async function refresh() {
  let html;
  try {
    const response = await fetch(location.pathname, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (response.redirected && new URL(response.url).pathname.startsWith("/connexion")) {
      location.assign(loginUrl());
      return;
    }
    html = await response.text();
  } catch {
    toast(t("Impossible de joindre le serveur. Rechargez la page."), "error");
    return;
  }
  const fresh = new DOMParser().parseFromString(html, "text/html");
  for (const region of document.querySelectorAll("[data-region]")) {
    const next = fresh.querySelector(`[data-region="${region.dataset.region}"]`);
    if (next) region.replaceWith(document.adoptNode(next));
  }
  const final = $('[data-region="head"]').dataset.final === "true";
  for (const el of document.querySelectorAll("[data-editing]")) el.hidden = final;
  await loadFinalization();
}

// The finalisation section (reports, reasons, comment) is still drawn by finalization.js
// from the session's JSON: read with the page, and again after each change.
async function loadFinalization() {
  const res = await api("GET", `/api/sessions/${sessionId}`);
  if (res.ok) renderFinalization(res.data);
  else refused(res);
}

function refused(res) {
  if (res.status === 401) {
    location.assign(loginUrl());
    return true;
  }
  return false;
}

function supervisorRow(sup) {
  return h(
    "li",
    { class: "supervisor-list__row" },
    h("span", { class: "table__strong", text: sup.name }),
    h("span", { class: "muted", text: ` ${sup.email}` }),
    h("span", { class: `tag ${sup.online ? "tag--success" : "tag--neutral"}`, text: sup.online ? t("En ligne") : t("Hors ligne") }),
    h("button", {
      type: "button",
      class: "button button--ghost button--small",
      "aria-label": t("Retirer l'accès de %(name)s", { name: sup.name }),
      text: t("Retirer l'accès"),
      onclick: () => revoke(sup),
    }),
  );
}

async function loadSupervisors() {
  const list = $("[data-sup-rows]");
  if (!list || list.closest("[hidden]")) return;
  const res = await api("GET", `/api/sessions/${sessionId}/supervisors`);
  if (!res.ok) {
    if (!refused(res)) toast(res.error.message, "error");
    return;
  }
  const sups = res.data.supervisors;
  $("[data-sup-count]").textContent = `(${sups.length})`;
  list.replaceChildren(...sups.map(supervisorRow));
  $("[data-sup-empty]").hidden = sups.length > 0;
}

async function revoke(sup) {
  const ok = await confirmDialog({
    title: t("Retirer l'accès de %(name)s ?", { name: sup.name }),
    body: [
      t("Ses tableaux de bord de cette session se ferment aussitôt."),
      t("S'il connaît le mot de passe de la session, il peut revenir : donnez ensuite un nouveau mot de passe à la session."),
    ],
    confirmLabel: t("Retirer l'accès"),
    danger: true,
  });
  if (!ok) return;
  const res = await api("DELETE", `/api/sessions/${sessionId}/supervisors/${sup.id}`);
  if (!res.ok) {
    if (!refused(res)) toast(res.error.message, "error");
    return;
  }
  toast(t("L'accès de %(name)s à la session a été retiré.", { name: sup.name }));
  await loadSupervisors();
  $("#sups-title").focus({ preventScroll: true });
}

async function rotatePassword() {
  const ok = await confirmDialog({
    title: t("Donner un nouveau mot de passe à la session ?"),
    body: [
      t("L'ancien mot de passe ne permettra plus d'accéder à la surveillance. Les surveillants déjà entrés gardent leur accès."),
      t("Communiquez le nouveau mot de passe aux surveillants qui doivent encore entrer (le kit surveillant le contient)."),
    ],
    confirmLabel: t("Changer le mot de passe"),
  });
  if (!ok) return;
  const res = await api("POST", `/api/sessions/${sessionId}/supervisor-password`);
  if (!res.ok) {
    if (!refused(res)) toast(res.error.message, "error");
    return;
  }
  await refresh();
  toast(t("Nouveau mot de passe de la session : %(password)s", { password: res.data.session.supervisor_password }));
}

async function removeCandidate(id, name) {
  const ok = await confirmDialog({
    title: t("Retirer %(name)s de la session ?", { name }),
    body: [t("Le candidat ne pourra plus rejoindre cette session, sauf s'il y est inscrit de nouveau.")],
    confirmLabel: t("Retirer le candidat"),
    danger: true,
  });
  if (!ok) return;
  const res = await api("DELETE", `/api/sessions/${sessionId}/candidates/${id}`);
  if (!res.ok) {
    if (!refused(res)) toast(res.error.message, "error");
    return;
  }
  toast(t("%(name)s a été retiré de la session.", { name }));
  await refresh();
  $("#cands-title").focus({ preventScroll: true });
}

addForm?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const values = formValues(addForm);
  if (!filledIn(addForm, values, LABELS, ["last_name", "first_name", "birthdate"])) return;
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
  toast(t("%(name)s est inscrit à la session.", { name: listName(res.data.candidate) }));
  await refresh();
  addForm.querySelector("#last_name").focus();
});

importForm?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = importForm.querySelector("#csv").files[0];
  if (!file) {
    showFormError(importForm, t("Choisissez un fichier CSV."));
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
    toast(tn("%(n)s candidat importé.", "%(n)s candidats importés.", res.data.imported));
    await refresh();
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
          rows.map((r) =>
            h("li", {
              text: r.field
                ? t("Ligne %(line)s (%(field)s) : %(message)s", { line: r.line, field: r.field, message: r.message })
                : t("Ligne %(line)s : %(message)s", { line: r.line, message: r.message }),
            }),
          ),
        )
      : null,
  ].filter(Boolean));
});

setupFinalization({ sessionId, reload: refresh, onRefused: refused });
if ($("[data-finalization]")) loadFinalization();

// Delegated: the buttons are in regions that a refresh replaces.
main.addEventListener("click", (event) => {
  const remove = event.target.closest("[data-remove]");
  if (remove) removeCandidate(Number(remove.dataset.remove), remove.dataset.name);
  else if (event.target.closest("[data-finalize]")) goToFinalization();
  else if (event.target.closest("[data-rotate]")) rotatePassword();
});
loadSupervisors();
