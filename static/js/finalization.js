// The centre's finalisation: every report of the session, a reason for each candidate
// who started and did not finish (each becomes a report), a comment, then the session is
// frozen; afterwards, the procès-verbal to download. A test a supervisor ended with a
// reason comes with it filled in (editable): the server records it again only if changed.
import { api } from "./api.js";
import { h, $ } from "./dom.js";
import { clock, listName } from "./format.js";
import { t } from "./i18n.js";
import { reportCategory } from "./labels.js";
import { confirmDialog, setBusy, showFormError, toast } from "./ui.js";
import { CandidateStatus, ReportOrigin, SessionStatus } from "./vocabulary.js";

const UNFINISHED = new Set([CandidateStatus.IN_PROGRESS, CandidateStatus.ENDED_BY_SUPERVISOR, CandidateStatus.ENDED_BY_EXPIRY]);
const form = $("[data-final-form]");
const ctx = { sessionId: 0, reload: async () => {}, unfinished: [], onRefused: () => false };

function reportItem(r, names) {
  return h(
    "li",
    { class: "report" },
    h("p", { class: "report__head" }, h("strong", { text: `${names.get(r.candidate_id) || "?"} — ${reportCategory(r)}` }), h("span", { class: "muted", text: ` — ${r.author.name}, ${clock(r.created_at)}` })),
    r.comment ? h("p", { class: "report__comment", text: r.comment }) : null,
  );
}

// The reason a supervisor gave with « Terminer le test », as it reads now (the latest).
function endReason(c, reports) {
  if (c.status !== CandidateStatus.ENDED_BY_SUPERVISOR) return null;
  const mine = reports.filter((r) => r.candidate_id === c.id && r.origin === ReportOrigin.END_TEST);
  return mine.length ? mine.reduce((a, b) => (b.id > a.id ? b : a)) : null;
}

function reasonField(c, categories, given) {
  const id = `reason-${c.id}`;
  const select = h("select", { id, name: "category", required: true, "aria-describedby": given ? `${id}-given` : undefined }, h("option", { value: "", text: t("Choisissez le motif") }), categories.map(([v, l]) => h("option", { value: v, text: l })));
  const comment = h("textarea", { id: `${id}-comment`, name: "comment", rows: "2", maxlength: "1000" });
  if (given) {
    select.value = given.category;
    comment.value = given.comment || "";
  }
  return h(
    "div",
    { class: "reason", dataset: { candidateId: String(c.id) } },
    h("p", { class: "reason__who", text: `${listName(c)} (${c.progress.answered}/${c.progress.total})` }),
    given ? h("p", { id: `${id}-given`, class: "muted reason__given", dataset: { given: "" }, text: t("Motif donné par %(name)s en terminant le test, à %(time)s : modifiable.", { name: given.author.name, time: clock(given.created_at) }) }) : null,
    h("div", { class: "field" }, h("label", { for: id, text: t("Motif pour %(name)s", { name: listName(c) }) }), select),
    h("div", { class: "field" }, h("label", { for: `${id}-comment`, text: t("Commentaire pour %(name)s (facultatif)", { name: listName(c) }) }), comment),
  );
}

function categories() {
  return Object.entries(JSON.parse(form.dataset.categories || "{}"));
}

export function renderFinalization(data) {
  const { session, candidates, reports } = data;
  const final = session.status === SessionStatus.FINALIZED;
  const names = new Map(candidates.map((c) => [c.id, listName(c)]));
  const items = (reports || []).map((r) => reportItem(r, names));
  $("[data-final-reports]").replaceChildren(...items);
  $("[data-final-no-report]").hidden = items.length > 0;
  $("[data-final-report-count]").textContent = items.length ? `(${items.length})` : "";
  $("[data-pv-link]").hidden = !final;
  form.hidden = final;
  const comment = $("[data-final-comment]");
  comment.hidden = !(final && data.comment);
  comment.textContent = data.comment ? t("Commentaire sur la session : %(comment)s", { comment: data.comment }) : "";
  ctx.unfinished = candidates.filter((c) => UNFINISHED.has(c.status));
  // Keep what was already typed when the list is reloaded.
  const box = $("[data-final-reasons]");
  const kept = new Map([...box.querySelectorAll("[data-candidate-id]")].map((el) => [el.dataset.candidateId, el]));
  box.replaceChildren(
    ...ctx.unfinished.map((c) => {
      const given = endReason(c, reports || []);
      const old = kept.get(String(c.id));
      // A test ended since the list was drawn brings its reason, unless one was chosen here.
      const untouched = old && !old.querySelector("select").value && !old.querySelector("[data-given]");
      return old && !(given && untouched) ? old : reasonField(c, categories(), given);
    }),
  );
  $("[data-final-no-reason]").hidden = ctx.unfinished.length > 0;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const reasons = [];
  for (const el of $("[data-final-reasons]").querySelectorAll("[data-candidate-id]")) {
    const select = el.querySelector("select");
    if (!select.value) {
      showFormError(form, t("Choisissez un motif pour %(name)s.", { name: el.querySelector(".reason__who").textContent }));
      select.focus();
      return;
    }
    reasons.push({ candidate_id: Number(el.dataset.candidateId), category: select.value, comment: el.querySelector("textarea").value.trim() });
  }
  const ok = await confirmDialog({
    title: t("Finaliser la session %(session)s ?", { session: ctx.sessionId }),
    body: [
      t("Les tests encore en cours seront terminés, et la session ne sera plus accessible aux surveillants ni aux candidats."),
      t("Attention : cette action est irréversible."),
    ],
    confirmLabel: t("Finaliser la session"),
    danger: true,
  });
  if (!ok) return;
  const button = $("[data-final-submit]");
  setBusy(button, true);
  const res = await api("POST", `/api/sessions/${ctx.sessionId}/finalize`, { comment: $("#final-comment").value.trim(), reasons });
  setBusy(button, false);
  if (!res.ok) {
    if (!ctx.onRefused(res)) showFormError(form, res.error.message);
    return;
  }
  showFormError(form, null);
  toast(t("La session %(session)s est finalisée.", { session: ctx.sessionId }));
  await ctx.reload();
  $("#final-title").focus();
});

export function setupFinalization({ sessionId, reload, onRefused }) {
  ctx.sessionId = sessionId;
  ctx.reload = reload;
  ctx.onRefused = onRefused;
}

// The head's button leads here: the finalisation needs its reasons first.
export function goToFinalization() {
  $("#final-title").scrollIntoView({ block: "start" });
  $("#final-title").focus({ preventScroll: true });
}
