// The candidate's « Signaler un problème »: the dialog, the question on hold, and the
// supervisor's decision read from the pushed state (the page never has to ask).
import { api } from "./api.js";
import { $ } from "./dom.js";
import { lang, t, tn } from "./i18n.js";
import { alertCategory } from "./labels.js";
import { announce, setBusy, showFormError } from "./ui.js";
import { AlertCategory } from "./vocabulary.js";

const COMMENT_MAX = 500;
const dialog = $("[data-signal-dialog]");
const form = $("[data-signal-form]");
const comment = $("#signal-comment");
const count = $("[data-signal-count]");
const status = $("[data-signal-status]");
const held = $("[data-signal-held]");
const openButton = $("[data-signal-open]");

const state = {
  // The alert this page knows is waiting, and the question it was about.
  held: null,
  question: null,
  onRefused: () => false,
  reload: () => {},
};

function answerControls() {
  const answerForm = $("[data-answer-form]");
  return answerForm ? [...answerForm.querySelectorAll("input, button")] : [];
}

function render() {
  const waiting = Boolean(state.held);
  held.hidden = !waiting;
  openButton.hidden = waiting || !state.question;
  if (waiting) $("[data-signal-held-category]").textContent = alertCategory(state.held).toLocaleLowerCase(lang());
  // aria-disabled keeps the controls in the tab order and readable while on hold.
  for (const el of answerControls()) {
    if (waiting) {
      el.setAttribute("aria-disabled", "true");
      if (el.type === "radio") el.disabled = true;
    } else {
      el.removeAttribute("aria-disabled");
      if (el.type === "radio") el.disabled = false;
    }
  }
}

function say(message) {
  status.textContent = message;
}

// Called with every state of the test the page renders (load, answer, push).
export function alertsOnTest(data) {
  const c = data.candidate;
  const q = data.question;
  if (state.held && !c.alert && q) {
    const replaced = state.question && q.id !== state.question.id;
    say(
      replaced
        ? t("Votre surveillant a validé votre signalement : la question a été remplacée par une autre, qui ne compte pas de plus dans votre test.")
        : t("Votre surveillant a examiné votre signalement et l'a refusé : vous pouvez répondre à cette question."),
    );
  } else if (!c.alert && state.question && q && q.id !== state.question.id) {
    say("");
  }
  state.held = c.alert || null;
  state.question = q;
  render();
}

// A pushed candidate view: true when the page must read its test again (a decision came).
export function alertsOnCandidate(candidate) {
  const was = state.held;
  if (was && !candidate.alert) return true;
  if (!was && candidate.alert) {
    state.held = candidate.alert;
    render();
  }
  return false;
}

export function alertsInit({ onRefused, reload }) {
  state.onRefused = onRefused;
  state.reload = reload;
}

export function alertHeld() {
  return Boolean(state.held);
}

function updateCount() {
  const left = COMMENT_MAX - comment.value.length;
  count.textContent = tn("%(n)s caractère restant sur %(max)s.", "%(n)s caractères restants sur %(max)s.", left, { max: COMMENT_MAX });
}

function category() {
  const picked = form.querySelector('input[name="category"]:checked');
  return picked ? picked.value : null;
}

function syncRequired() {
  const other = category() === AlertCategory.OTHER;
  $("[data-signal-required]").textContent = other ? t("(obligatoire pour « Autre »)") : t("(facultatif)");
  comment.required = other;
  comment.setAttribute("aria-required", other ? "true" : "false");
}

openButton.addEventListener("click", () => {
  form.reset();
  showFormError(form, null);
  updateCount();
  syncRequired();
  dialog.showModal();
  form.querySelector('input[name="category"]').focus();
});

$("[data-signal-cancel]").addEventListener("click", () => dialog.close());
dialog.addEventListener("close", () => {
  if (!state.held && !openButton.hidden) openButton.focus();
});
comment.addEventListener("input", updateCount);
form.addEventListener("change", syncRequired);

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const picked = category();
  if (!picked) {
    showFormError(form, t("Choisissez le problème rencontré."));
    form.querySelector('input[name="category"]').focus();
    return;
  }
  const text = comment.value.trim();
  if (picked === AlertCategory.OTHER && !text) {
    showFormError(form, t("Décrivez le problème : le commentaire est obligatoire pour « Autre »."));
    comment.focus();
    return;
  }
  if (!state.question) return;
  const button = $("[data-signal-send]");
  setBusy(button, true);
  const res = await api("POST", "/api/candidate/alerts", { question_id: state.question.id, category: picked, comment: text });
  setBusy(button, false);
  if (res.ok) {
    dialog.close();
    say("");
    alertsOnTest(res.data);
    announce(t("Votre surveillant a été prévenu et va venir."));
    $("[data-signal-held]").setAttribute("tabindex", "-1");
    $("[data-signal-held]").focus();
    return;
  }
  // The page is behind (a pause, another question, an alert sent from elsewhere): read it again.
  if (res.error.code === "ALERT_ALREADY_OPEN" || res.error.code === "QUESTION_NOT_CURRENT" || res.error.code === "TEST_PAUSED") {
    dialog.close();
    state.reload();
    say(res.error.message);
    return;
  }
  if (state.onRefused(res.error)) {
    dialog.close();
    return;
  }
  showFormError(form, res.error.message);
});
