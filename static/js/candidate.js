// The candidate's page: join, wait for the supervisor, consent, the test, the end.
//
// What the candidate typed is kept in memory only, so that a supervisor's
// confirmation (pushed on the candidate socket) can re-send the join without
// asking for anything again.
import { api, fieldMessage, retryable } from "./api.js";
import { alertHeld, alertsInit, alertsOnCandidate, alertsOnTest } from "./candidate-alert.js";
import { h, $ } from "./dom.js";
import { countdown } from "./format.js";
import { t, tn } from "./i18n.js";
import { LiveFeed, liveUrl } from "./live.js";
import { announce, filledIn, formValues, setBusy, showFormError } from "./ui.js";
import { CandidateStatus as Status, CloseCode, SessionStatus } from "./vocabulary.js";
import { NoticeLog, pauseAnnouncement, renderPause, showNotice } from "./candidate-room.js";

// The contract's candidate heartbeat: the server shows a candidate silent for 10 s as lost.
const HEARTBEAT_MS = 5000;
const LABELS = {
  session_id: t("Numéro de session"),
  access_code: t("Code d'accès"),
  first_name: t("Prénom"),
  last_name: t("Nom"),
  birthdate: t("Date de naissance"),
};
// The guide's wording, whatever the server says.
const NOT_CONFIRMED = t(
  "Votre surveillant n'a pas confirmé votre présence dans la salle de test. Vous ne pouvez donc pas encore commencer votre test de certification. Merci de prévenir votre surveillant.",
);
const KEPT = t("Vos réponses enregistrées jusqu'ici sont conservées. Vous pouvez fermer cette page.");
const ENDINGS = {
  [Status.FINISHED]: [t("Votre test de certification est terminé."), t("Vous pouvez fermer cette page. Merci de votre participation.")],
  [Status.ENDED_BY_SUPERVISOR]: [t("Votre surveillant a mis fin à votre test de certification."), KEPT],
  [Status.ENDED_BY_FINALIZATION]: [t("La session a été finalisée : votre test de certification est terminé."), KEPT],
  [Status.ENDED_BY_EXPIRY]: [t("Votre test a été fermé automatiquement : il était ouvert depuis plus d'une journée."), KEPT],
  replaced: [t("Votre test est ouvert dans un autre onglet."), t("Continuez dans cet autre onglet ; cette page ne reçoit plus rien.")],
  elsewhere: [
    t("Votre test a été ouvert sur un autre poste."),
    t("Pour le reprendre ici, rejoignez à nouveau la session : votre surveillant devra vous y autoriser."),
  ],
};
const TITLES = {
  join: t("Rejoindre une session"),
  waiting: t("En attente du surveillant"),
  consent: t("Commencer mon test"),
  test: t("Test de certification"),
  paused: t("Test en pause"),
  end: t("Test terminé"),
};

const joinForm = $("[data-join-form]");
const answerForm = $("[data-answer-form]");

const state = {
  step: "join",
  values: null,
  waitingFor: null, // "presence" | "resume"
  rejoining: false,
  joining: false,
  question: null,
  deadline: null,
  timer: null,
  answering: false,
  endAt: null, // the theoretical end the countdown was set from
  notices: [], // supervisors' messages come before the page is past the door (see onNotice)
};
const notices = new NoticeLog();
// Messages held while the page is at the door: a few are enough (the socket sends the recent
// ones again on each connection).
const HELD_NOTICES = 10;

// ------------------------------------------------------------------ steps

function show(step, { focus = true } = {}) {
  state.step = step;
  for (const section of document.querySelectorAll("[data-step]")) section.hidden = section.dataset.step !== step;
  const shown = { waiting: "join", paused: "test" }[step] || step;
  for (const li of document.querySelectorAll("[data-step-label]")) {
    if (li.dataset.stepLabel === shown) li.setAttribute("aria-current", "step");
    else li.removeAttribute("aria-current");
  }
  document.title = `${TITLES[step]} · Surveillance`;
  if (step !== "test") stopTimer();
  if (step === "end") state.notices = [];
  else if (step !== "join") showHeldNotices();
  if (focus) {
    const heading = $(`[data-step="${step}"] [tabindex="-1"]`);
    if (heading) heading.focus();
  }
}

function finish(kind) {
  const [title, detail] = ENDINGS[kind] || ENDINGS[Status.FINISHED];
  $("[data-end-title]").textContent = title;
  $("[data-end-detail]").textContent = detail;
  const back = $("[data-end-back]");
  if (back) back.remove();
  if (kind === "elsewhere") {
    $("[data-step='end']").append(
      h("button", { type: "button", class: "button button--secondary", "data-end-back": "", text: t("Rejoindre à nouveau"), onclick: () => show("join") }),
    );
  } else {
    socket.stop();
  }
  show("end");
}

function wait(kind, message) {
  state.waitingFor = kind;
  $("[data-wait-code]").textContent = (state.values.access_code || "").toUpperCase().split("").join(" ");
  $("[data-wait-message]").replaceChildren(h("p", { text: message }));
  show("waiting");
  socket.start();
}

// ------------------------------------------------------------------ join

async function join() {
  const v = state.values;
  state.joining = true;
  const res = await api("POST", "/api/candidate/join", {
    session_id: Number(v.session_id),
    access_code: v.access_code,
    first_name: v.first_name,
    last_name: v.last_name,
    birthdate: v.birthdate,
  }).finally(() => {
    state.joining = false;
  });
  if (res.ok) {
    state.waitingFor = null;
    // The join gave a new cookie: a socket opened before it (while waiting) counts for
    // nothing in the supervisors' view of who is connected, so open a fresh one.
    socket.restart();
    const c = res.data.candidate;
    if (res.data.next === "test") {
      await loadTest();
    } else {
      $("[data-consent-name]").textContent = `${c.first_name} ${c.last_name}`;
      $("[data-consent-session]").textContent = String(v.session_id);
      showFormError($("[data-step='consent']"), null);
      $("[data-consent-error]").hidden = true;
      show("consent");
    }
    return null;
  }
  const { code } = res.error;
  if (code === "CANDIDATE_NOT_AUTHORIZED_TO_JOIN_SESSION") {
    wait("presence", NOT_CONFIRMED);
    return null;
  }
  if (code === "CANDIDATE_NOT_AUTHORIZED_TO_RESUME_SESSION") {
    wait("resume", res.error.message);
    return null;
  }
  if (code === "TEST_FINISHED") {
    finish(Status.FINISHED);
    return null;
  }
  return fieldMessage(res.error, LABELS);
}

joinForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const values = formValues(joinForm);
  if (!filledIn(joinForm, values, LABELS)) return;
  if (!/^\d{1,9}$/.test(values.session_id)) {
    showFormError(joinForm, t("Le numéro de session ne contient que des chiffres."));
    joinForm.querySelector("#session_id").focus();
    return;
  }
  showFormError(joinForm, null);
  state.values = values;
  const button = joinForm.querySelector('[type="submit"]');
  setBusy(button, true);
  const problem = await join();
  setBusy(button, false);
  if (problem) {
    showFormError(joinForm, problem);
    $("[data-form-error]", joinForm).scrollIntoView({ block: "nearest" });
  }
});

$("[data-wait-back]").addEventListener("click", () => {
  state.waitingFor = null;
  show("join");
});

// The supervisor acted: go on without the candidate having to do anything.
async function rejoin() {
  if (state.rejoining) return;
  state.rejoining = true;
  const problem = await join();
  state.rejoining = false;
  if (problem) {
    showFormError(joinForm, problem);
    show("join");
  }
}

// ------------------------------------------------------------------ consent

$("[data-start]").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  setBusy(button, true);
  const res = await api("POST", "/api/candidate/start", { consent: true });
  setBusy(button, false);
  if (res.ok) {
    await loadTest();
    return;
  }
  if (res.error.code === "CANDIDATE_NOT_AUTHORIZED_TO_JOIN_SESSION") {
    wait("presence", NOT_CONFIRMED);
    return;
  }
  if (res.error.code === "TEST_ENDED_BY_SUPERVISOR") return finish(Status.ENDED_BY_SUPERVISOR);
  if (res.error.code === "TEST_ENDED_BY_FINALIZATION") return finish(Status.ENDED_BY_FINALIZATION);
  if (res.error.code === "NOT_AUTHENTICATED") return finish("elsewhere");
  const box = $("[data-consent-error]");
  box.hidden = false;
  box.replaceChildren(h("p", { text: res.error.message }));
});

// ------------------------------------------------------------------ test

function testRefused(error) {
  if (error.code === "TEST_ENDED_BY_SUPERVISOR") finish(Status.ENDED_BY_SUPERVISOR);
  else if (error.code === "TEST_ENDED_BY_FINALIZATION") finish(Status.ENDED_BY_FINALIZATION);
  else if (error.code === "TEST_ENDED_BY_EXPIRY") finish(Status.ENDED_BY_EXPIRY);
  else if (error.code === "NOT_AUTHENTICATED") finish("elsewhere");
  else return false;
  return true;
}

async function loadTest() {
  const res = await api("GET", "/api/candidate/test");
  if (!res.ok) {
    if (!testRefused(res.error)) {
      showFormError(joinForm, res.error.message);
      show("join");
    }
    return;
  }
  renderTest(res.data, true);
}

function renderTest(data, moveFocus) {
  const c = data.candidate;
  state.endAt = c.theoretical_end_at;
  if (c.paused && c.status === Status.IN_PROGRESS) {
    renderPause(c, data.time_left_seconds);
    state.question = null;
    if (state.step !== "paused") announce(pauseAnnouncement(c));
    show("paused");
    return;
  }
  if (!data.question) {
    finish(c.status in ENDINGS ? c.status : Status.FINISHED);
    return;
  }
  const q = data.question;
  const total = c.progress.total;
  const wasTest = state.step === "test";
  state.question = q;
  $("[data-question-count]").textContent = t("Question %(index)s / %(total)s", { index: q.index + 1, total });
  const bar = $("[data-test-progress]");
  bar.max = total || 1;
  bar.value = c.progress.answered;
  $("[data-question-text]").textContent = q.text;
  $("[data-choices]").replaceChildren(
    ...q.choices.map((choice, i) =>
      h("label", { class: "choice" }, h("input", { type: "radio", name: "answer", value: String(i), required: true }), h("span", { text: choice })),
    ),
  );
  showFormError(answerForm, null);
  startTimer(data.time_left_seconds);
  show("test", { focus: moveFocus || !wasTest });
  if (wasTest) $("[data-question-count]").focus();
  alertsOnTest(data);
}

answerForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (state.answering || !state.question || alertHeld()) return;
  const picked = answerForm.querySelector('input[name="answer"]:checked');
  if (!picked) {
    showFormError(answerForm, t("Choisissez une réponse avant de valider."));
    answerForm.querySelector('input[name="answer"]').focus();
    return;
  }
  state.answering = true;
  const button = answerForm.querySelector('[type="submit"]');
  setBusy(button, true);
  const res = await submitAnswer(state.question.id, Number(picked.value));
  setBusy(button, false);
  state.answering = false;
  if (res.ok) {
    renderTest(res.data, false);
    return;
  }
  if (testRefused(res.error)) return;
  if (res.error.code === "QUESTION_NOT_CURRENT" || res.error.code === "TEST_PAUSED" || res.error.code === "ALERT_PENDING") {
    await loadTest();
    return;
  }
  showFormError(answerForm, res.error.message);
});

// An answer is not idempotent for the candidate: a reply lost in a server switch may hide
// an answer that was recorded. Before sending it again, read the test: if the question moved
// on, the answer was recorded and that state is the reply.
async function submitAnswer(questionId, answer) {
  let res = await api("POST", "/api/candidate/answers", { question_id: questionId, answer });
  for (let attempt = 0; attempt < 5 && retryable(res); attempt += 1) {
    const now = await api("GET", "/api/candidate/test");
    if (!now.ok) return retryable(now) ? res : now;
    if (!now.data.question || now.data.question.id !== questionId) return now;
    res = await api("POST", "/api/candidate/answers", { question_id: questionId, answer });
  }
  return res;
}

function startTimer(seconds) {
  stopTimer();
  state.deadline = performance.now() + seconds * 1000;
  const el = $("[data-timer]");
  let warned = false;
  const tick = () => {
    const left = Math.round((state.deadline - performance.now()) / 1000);
    if (left > 0) {
      el.textContent = t("Temps restant : %(time)s", { time: countdown(left) });
      el.classList.remove("timer--over");
      if (left <= 300 && !warned) {
        warned = true;
        announce(t("Il vous reste 5 minutes."));
      }
    } else {
      el.textContent = t("Temps écoulé");
      el.classList.add("timer--over");
    }
  };
  tick();
  state.timer = setInterval(tick, 1000);
}

function stopTimer() {
  clearInterval(state.timer);
  state.timer = null;
}

// ------------------------------------------------------------------ candidate socket

const endedBySomeoneElse = (status) =>
  status === Status.ENDED_BY_SUPERVISOR || status === Status.ENDED_BY_FINALIZATION || status === Status.ENDED_BY_EXPIRY;

// A supervisor paused, resumed or moved the end of this test: follow at once.
function followRoom(c) {
  if (c.status !== Status.IN_PROGRESS) return;
  if (state.step === "test" && c.paused) {
    loadTest();
  } else if (state.step === "paused" && !c.paused) {
    announce(t("Votre surveillant a repris le test."));
    loadTest();
  } else if (state.step === "test" && state.timer && endMoved(c)) {
    const moved = announceMove(c);
    state.deadline += moved;
  } else if (state.step === "paused" && c.paused && endMoved(c)) {
    // Time adjusted during the pause: the stopped clock on the pause screen shows it too.
    announceMove(c);
    loadTest();
  }
}

const endMoved = (c) => Boolean(c.theoretical_end_at && state.endAt && c.theoretical_end_at !== state.endAt);

// The candidate hears how much the end moved; returns the move in milliseconds.
function announceMove(c) {
  const moved = Date.parse(c.theoretical_end_at) - Date.parse(state.endAt);
  state.endAt = c.theoretical_end_at;
  const minutes = Math.round(moved / 60000);
  if (minutes > 0) announce(tn("Votre surveillant vous a accordé %(n)s minute de plus.", "Votre surveillant vous a accordé %(n)s minutes de plus.", minutes));
  else if (minutes < 0) announce(tn("Votre temps a été réduit de %(n)s minute.", "Votre temps a été réduit de %(n)s minutes.", -minutes));
  return moved;
}

// A supervisor's message: shown until dismissed, once the candidate is past the door. A join
// that succeeds opens the socket before the test is read: its first state, with the recent
// messages, may come while the page still shows the door; they wait for the next step.
function onNotice(message) {
  if (state.step === "end") return;
  if (state.step === "join") {
    state.notices = [...state.notices, message].slice(-HELD_NOTICES);
    return;
  }
  if (notices.admit(message)) showNotice(message, notices);
}

function showHeldNotices() {
  const held = state.notices;
  state.notices = [];
  for (const message of held) onNotice(message);
}

// Each state the socket sends (on each connection too) carries the recent messages to this
// candidate: those sent while its socket was down are shown now, the others were already.
function onSocketState(message) {
  const c = message.candidate;
  if (c && state.values) notices.owner(Number(state.values.session_id), c.id);
  onCandidateState(message);
  for (const notice of Array.isArray(message.messages) ? message.messages : []) onNotice(notice);
}

// The whole state of this candidate, pushed whenever it changes (and on each connection).
function onCandidateState(message) {
  const c = message.candidate;
  if (!c || message.session_status === SessionStatus.FINALIZED) {
    if (state.step !== "end" && state.step !== "join") finish(Status.ENDED_BY_FINALIZATION);
    return;
  }
  if (state.step === "waiting") {
    if (state.waitingFor === "presence" && c.status === Status.NOT_STARTED && c.authorized_to_start) rejoin();
    else if (state.waitingFor === "resume" && c.resume_authorized) rejoin();
    else if (endedBySomeoneElse(c.status)) finish(c.status);
    return;
  }
  if (state.step === "consent" && c.status === Status.NOT_STARTED && !c.authorized_to_start) {
    wait("presence", NOT_CONFIRMED);
    return;
  }
  if ((state.step === "test" || state.step === "consent" || state.step === "paused") && endedBySomeoneElse(c.status)) {
    finish(c.status);
    return;
  }
  if (state.step === "test" && alertsOnCandidate(c)) {
    loadTest();
    return;
  }
  followRoom(c);
}

function onSocketRefused(code) {
  // A join under way replaces this socket anyway: its own success restarts it.
  if (state.joining || state.rejoining || state.step === "end" || state.step === "join") return;
  if (code === CloseCode.REPLACED) finish("replaced");
  else if (code === CloseCode.ELSEWHERE) finish("elsewhere");
}

// Without a candidate cookie (yet) the socket is refused and stops; the next join starts it
// again. After 4408, 4409 or 4410 it stops too (the last state came just before a 4410).
const socket = new LiveFeed(
  liveUrl("/api/candidate/live"),
  { onState: onSocketState, onNotice, onRefused: onSocketRefused },
  { heartbeatMs: HEARTBEAT_MS, silenceMs: null },
);
alertsInit({ onRefused: testRefused, reload: loadTest });
show("join", { focus: false });
