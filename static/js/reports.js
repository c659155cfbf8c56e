// Incident reports on the dashboard: the list per candidate (live for every supervisor),
// the form (each author edits or removes their own until the session is finalised), and
// « Terminer le test » asking for the reason that becomes a report. A report an action
// wrote (end of test, alert decision, time adjustment) is its trace: editable, not removable.
import { api } from "./api.js";
import { h, $ } from "./dom.js";
import { clock, listName, personName } from "./format.js";
import { t, tn } from "./i18n.js";
import { reportCategory } from "./labels.js";
import { setBusy, showFormError, toast } from "./ui.js";
import { ReportOrigin } from "./vocabulary.js";

const dialog = $("[data-report-dialog]");
const form = $("[data-report-form]");
const endDialog = $("[data-end-dialog]");
const endForm = $("[data-end-form]");

const ctx = {
  sessionId: 0,
  candidates: () => [],
  me: () => null,
  onRefusal: () => {},
  reports: new Map(),
  // The candidate whose reports the dialog shows, and the report being edited.
  candidateId: null,
  editing: null,
  opener: null,
};

const base = () => `/api/supervision/sessions/${ctx.sessionId}`;
const candidate = (id) => [...ctx.candidates()].find((c) => c.id === id);

export function reportsOf(candidateId) {
  return [...ctx.reports.values()].filter((r) => r.candidate_id === candidateId).sort((a, b) => a.id - b.id);
}

// ------------------------------------------------------------------ live

export function reportsOnSnapshot(list) {
  ctx.reports = new Map((list || []).map((r) => [r.id, r]));
  renderDialog();
}

export function reportsOnEvent(event) {
  const r = event.report;
  if (!r) return;
  if (r.deleted) ctx.reports.delete(r.id);
  else ctx.reports.set(r.id, r);
  if (ctx.editing === r.id && r.deleted) resetForm();
  renderDialog();
}

// ------------------------------------------------------------------ the dialog

function reportItem(r) {
  const mine = ctx.me() && r.author && r.author.id === ctx.me().id;
  const edited = r.updated_at ? t(" · modifié à %(time)s", { time: clock(r.updated_at) }) : "";
  const category = reportCategory(r);
  const item = h(
    "li",
    { class: "report", dataset: { reportId: String(r.id) } },
    h("p", { class: "report__head" }, h("strong", { text: category }), h("span", { class: "muted", text: ` — ${r.author.name}, ${clock(r.created_at)}${edited}` })),
    r.comment ? h("p", { class: "report__comment", text: r.comment }) : null,
  );
  if (mine) {
    item.append(
      h(
        "p",
        { class: "report__actions" },
        h("button", { type: "button", class: "link-button", text: t("Modifier"), "aria-label": t("Modifier le rapport « %(category)s »", { category }), onclick: () => edit(r) }),
        r.origin === ReportOrigin.SUPERVISOR
          ? h("button", { type: "button", class: "link-button link-button--danger", text: t("Supprimer"), "aria-label": t("Supprimer le rapport « %(category)s »", { category }), onclick: () => remove(r) })
          : null,
      ),
    );
  }
  return item;
}

function renderDialog() {
  if (!dialog.open || ctx.candidateId === null) return;
  const c = candidate(ctx.candidateId);
  if (!c) return;
  $("[data-report-who]").textContent = listName(c);
  const items = reportsOf(c.id).map(reportItem);
  $("[data-report-list]").replaceChildren(...items);
  $("[data-report-none]").hidden = items.length > 0;
}

function resetForm() {
  ctx.editing = null;
  form.reset();
  showFormError(form, null);
  $("[data-report-form-title]").textContent = t("Nouveau rapport");
  $("[data-report-save]").textContent = t("Enregistrer le rapport");
  $("[data-report-cancel-edit]").hidden = true;
}

export function openReports(candidateId) {
  ctx.candidateId = candidateId;
  ctx.opener = document.activeElement;
  resetForm();
  dialog.showModal();
  renderDialog();
  $("#report-category").focus();
}

function edit(r) {
  ctx.editing = r.id;
  form.elements.category.value = r.category;
  form.elements.comment.value = r.comment;
  $("[data-report-form-title]").textContent = t("Modifier le rapport");
  $("[data-report-save]").textContent = t("Enregistrer les modifications");
  $("[data-report-cancel-edit]").hidden = false;
  $("#report-category").focus();
}

function failed(res, box) {
  if (res.error.code === "NOT_AUTHENTICATED" || res.error.code === "NO_SUPERVISOR_ACCESS") {
    dialog.close();
    ctx.onRefusal(res);
    return;
  }
  showFormError(box, res.error.message);
}

async function remove(r) {
  const res = await api("DELETE", `${base()}/candidates/${r.candidate_id}/reports/${r.id}`);
  if (!res.ok) return failed(res, form);
  ctx.reports.delete(r.id);
  if (ctx.editing === r.id) resetForm();
  renderDialog();
  toast(t("Rapport supprimé."));
  $("#report-category").focus();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const category = form.elements.category.value;
  const comment = form.elements.comment.value.trim();
  if (!category) {
    showFormError(form, t("Choisissez une catégorie."));
    form.elements.category.focus();
    return;
  }
  const id = ctx.candidateId;
  const button = $("[data-report-save]");
  setBusy(button, true);
  const res = ctx.editing
    ? await api("PATCH", `${base()}/candidates/${id}/reports/${ctx.editing}`, { category, comment })
    : await api("POST", `${base()}/candidates/${id}/reports`, { category, comment });
  setBusy(button, false);
  if (!res.ok) return failed(res, form);
  ctx.reports.set(res.data.report.id, res.data.report);
  toast(ctx.editing ? t("Rapport modifié.") : t("Rapport enregistré."));
  resetForm();
  renderDialog();
  form.elements.category.focus();
});

$("[data-report-close]").addEventListener("click", () => dialog.close());
$("[data-report-cancel-edit]").addEventListener("click", resetForm);
dialog.addEventListener("close", () => {
  ctx.candidateId = null;
  if (ctx.opener && ctx.opener.isConnected) ctx.opener.focus();
});

// ------------------------------------------------------------------ « Terminer le test »

export function endTestWithReason(id) {
  const c = candidate(id);
  if (!c) return;
  ctx.opener = document.activeElement;
  endForm.reset();
  showFormError(endForm, null);
  $("[data-end-dialog-title]").textContent = t("Terminer le test de %(name)s ?", { name: personName(c) });
  endDialog.showModal();
  $("[data-end-cancel]").focus();
  endForm.onsubmit = async (event) => {
    event.preventDefault();
    const category = endForm.elements.category.value;
    if (!category) {
      showFormError(endForm, t("Choisissez le motif de la fin du test."));
      endForm.elements.category.focus();
      return;
    }
    const button = $("[data-end-ok]");
    setBusy(button, true);
    const res = await api("POST", `${base()}/candidates/${id}/end-test`, { category, comment: endForm.elements.comment.value.trim() });
    setBusy(button, false);
    if (!res.ok) {
      if (res.error.code === "NOT_AUTHENTICATED" || res.error.code === "NO_SUPERVISOR_ACCESS") {
        endDialog.close();
        ctx.onRefusal(res);
        return;
      }
      showFormError(endForm, res.error.message);
      return;
    }
    endDialog.close();
    toast(t("Succès ! Le test de %(name)s est terminé.", { name: personName(c) }));
  };
}

$("[data-end-cancel]").addEventListener("click", () => endDialog.close());
endDialog.addEventListener("close", () => {
  if (ctx.opener && ctx.opener.isConnected) ctx.opener.focus();
});

export function setupReports({ sessionId, candidates, me, onRefusal }) {
  ctx.sessionId = sessionId;
  ctx.candidates = candidates;
  ctx.me = me;
  ctx.onRefusal = onRefusal;
}
