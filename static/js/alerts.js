// The supervisor's side of a candidate's alert: the row's badge and button, the banner and
// the tab title that count pending alerts, « Traiter le signalement », and the sound and
// desktop notification a supervisor may turn on.
import { api } from "./api.js";
import { h, setText, $ } from "./dom.js";
import { clock, listName, personName } from "./format.js";
import { t, tn } from "./i18n.js";
import { alertCategory } from "./labels.js";
import { announce, toast } from "./ui.js";
import { Action } from "./vocabulary.js";

const SOUND_KEY = "surveillance.alertes.son";
const dialog = $("[data-alert-dialog]");
const banner = $("[data-alert-banner]");
const live = $("[data-alert-live]");
const toggle = $("[data-alert-toggle]");
// The server's title already counts the alerts of the first paint: "(2) Session 12 · …".
const baseTitle = document.title.replace(/^\(\d+\) /, "");

const ctx = {
  sessionId: 0,
  candidates: () => [],
  onRefusal: () => {},
  // The alert shown in the dialog, and whether our own decision on it is on its way.
  open: null,
  deciding: false,
  soundOn: false,
  audio: null,
};

export function pendingAlerts() {
  return [...ctx.candidates()].filter((c) => c.alert).sort((a, b) => (a.alert.created_at < b.alert.created_at ? -1 : 1));
}

// ------------------------------------------------------------------ banner and title

export function renderAlerts() {
  const pending = pendingAlerts();
  const n = pending.length;
  if (banner.hidden !== (n === 0)) banner.hidden = n === 0;
  if (n) {
    // tn, not a test on n: each language has its own rule for which counts are plural.
    setText($("[data-alert-banner-text]"), tn("%(n)s signalement en attente de décision", "%(n)s signalements en attente de décision", n));
  }
  const title = n ? `(${n}) ${baseTitle}` : baseTitle;
  if (document.title !== title) document.title = title;
}

$("[data-alert-banner-go]").addEventListener("click", () => {
  const [first] = pendingAlerts();
  if (first) openAlert(first.id);
});

// ------------------------------------------------------------------ the dialog

function fill(c) {
  const a = c.alert;
  $("[data-alert-who]").textContent = listName(c);
  $("[data-alert-question]").textContent = t("Question %(index)s sur %(total)s", { index: a.question_index + 1, total: c.progress.total });
  $("[data-alert-category]").textContent = alertCategory(a);
  $("[data-alert-comment]").textContent = a.comment || "—";
  $("[data-alert-at]").textContent = clock(a.created_at, { seconds: true });
}

export function openAlert(candidateId) {
  const c = [...ctx.candidates()].find((x) => x.id === candidateId);
  if (!c || !c.alert) return;
  ctx.open = { candidateId, alertId: c.alert.id };
  ctx.deciding = false;
  fill(c);
  $("[data-form-error]", dialog).hidden = true;
  for (const b of dialog.querySelectorAll("button")) b.disabled = false;
  if (!dialog.open) dialog.showModal();
  $("[data-alert-close]").focus();
}

function closeDialog() {
  ctx.open = null;
  if (dialog.open) dialog.close();
}

async function decide(verb) {
  if (!ctx.open || ctx.deciding) return;
  const { candidateId, alertId } = ctx.open;
  const c = [...ctx.candidates()].find((x) => x.id === candidateId);
  ctx.deciding = true;
  for (const b of dialog.querySelectorAll("button")) b.disabled = true;
  const res = await api("POST", `/api/supervision/sessions/${ctx.sessionId}/alerts/${alertId}/${verb}`);
  ctx.deciding = false;
  if (res.ok) {
    closeDialog();
    const who = c ? personName(c) : t("le candidat");
    toast(
      verb === "validate"
        ? t("Signalement validé : %(name)s reçoit une nouvelle question.", { name: who })
        : t("Signalement refusé : %(name)s continue sur la même question.", { name: who }),
    );
    return;
  }
  if (res.error.code === "ALERT_ALREADY_HANDLED") {
    closeDialog();
    toast(res.error.message, "info");
    return;
  }
  for (const b of dialog.querySelectorAll("button")) b.disabled = false;
  if (res.error.code === "NOT_AUTHENTICATED" || res.error.code === "NO_SUPERVISOR_ACCESS") {
    closeDialog();
    ctx.onRefusal(res);
    return;
  }
  const box = $("[data-form-error]", dialog);
  box.hidden = false;
  box.replaceChildren(h("p", { text: res.error.message }));
}

$("[data-alert-validate]").addEventListener("click", () => decide("validate"));
$("[data-alert-refuse]").addEventListener("click", () => decide("refuse"));
$("[data-alert-close]").addEventListener("click", closeDialog);
dialog.addEventListener("close", () => {
  ctx.open = null;
});

// ------------------------------------------------------------------ live events

export function alertsOnEvent(event) {
  const a = event.alert;
  if (!a) return;
  if (event.action === Action.ALERT_RAISED) {
    const c = event.candidate;
    live.textContent = t("Signalement de %(name)s : %(category)s", { name: listName(c), category: alertCategory(a) });
    ring(c, a);
    return;
  }
  // Someone else decided the alert this dialog shows: say who, and close it.
  if (ctx.open && ctx.open.alertId === a.id && !ctx.deciding) {
    closeDialog();
    const said = event.actor
      ? t("%(name)s a déjà traité ce signalement.", { name: event.actor.name })
      : t("Un surveillant a déjà traité ce signalement.");
    toast(said, "info");
    announce(said);
  }
}

// ------------------------------------------------------------------ sound and notifications

function renderToggle() {
  if (!toggle) return;
  toggle.setAttribute("aria-pressed", ctx.soundOn ? "true" : "false");
  $("[data-alert-toggle-state]", toggle).textContent = ctx.soundOn ? t("activés") : t("désactivés");
}

function beep() {
  const AudioCtx = window.AudioContext || window.webkitAudioContext;
  if (!AudioCtx) return;
  if (!ctx.audio) ctx.audio = new AudioCtx();
  const audio = ctx.audio;
  if (audio.state === "suspended") audio.resume();
  const now = audio.currentTime;
  for (const [offset, freq] of [
    [0, 880],
    [0.18, 660],
  ]) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, now + offset);
    gain.gain.exponentialRampToValueAtTime(0.2, now + offset + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.16);
    osc.connect(gain).connect(audio.destination);
    osc.start(now + offset);
    osc.stop(now + offset + 0.17);
  }
  // What a test (or a curious supervisor in the inspector) can read: when it last rang.
  toggle.dataset.lastSound = new Date().toISOString();
}

function ring(c, a) {
  if (!ctx.soundOn) return;
  beep();
  if (document.hidden && "Notification" in window && Notification.permission === "granted") {
    const note = new Notification(t("Signalement — %(page)s", { page: baseTitle.split(" · ")[0] }), {
      body: t("%(name)s : %(category)s", { name: listName(c), category: alertCategory(a) }),
      tag: `alert-${a.id}`,
    });
    note.onclick = () => {
      window.focus();
      openAlert(c.id);
      note.close();
    };
  }
}

async function switchSound() {
  ctx.soundOn = !ctx.soundOn;
  localStorage.setItem(SOUND_KEY, ctx.soundOn ? "on" : "off");
  renderToggle();
  if (!ctx.soundOn) return;
  // Asked from the click itself: browsers only grant permission to a user gesture.
  if ("Notification" in window && Notification.permission === "default") await Notification.requestPermission();
  beep();
  const denied = "Notification" in window && Notification.permission === "denied";
  toast(denied ? t("Son activé. Les notifications sont bloquées par le navigateur.") : t("Son et notifications activés pour les signalements."));
}

export function setupAlerts({ sessionId, candidates, onRefusal }) {
  ctx.sessionId = sessionId;
  ctx.candidates = candidates;
  ctx.onRefusal = onRefusal;
  ctx.soundOn = localStorage.getItem(SOUND_KEY) === "on";
  if (toggle) toggle.addEventListener("click", switchSound);
  renderToggle();
}
