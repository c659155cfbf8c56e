// The supervisor's side of a candidate's alert: the row's badge and button, the banner and
// the tab title that count pending alerts, « Traiter le signalement », and the sound and
// desktop notification a supervisor may turn on.
import { api } from "./api.js";
import { h, $ } from "./dom.js";
import { clock, listName, personName } from "./format.js";
import { announce, toast } from "./ui.js";
import { Action } from "./vocabulary.js";

const SOUND_KEY = "surveillance.alertes.son";
const dialog = $("[data-alert-dialog]");
const banner = $("[data-alert-banner]");
const live = $("[data-alert-live]");
const toggle = $("[data-alert-toggle]");
const baseTitle = document.title;

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

// ------------------------------------------------------------------ row parts

export function alertBadge(c) {
  return h("span", { class: "tag tag--alert", text: "Signalement", title: c.alert.category_label });
}

export function alertButton(c, disabled) {
  return h("button", {
    type: "button",
    class: "button button--small button--alert",
    text: "Traiter le signalement",
    disabled,
    "aria-label": `Traiter le signalement de ${listName(c)}`,
    dataset: { focusKey: "alert" },
    onclick: () => openAlert(c.id),
  });
}

// ------------------------------------------------------------------ banner and title

export function renderAlerts() {
  const pending = pendingAlerts();
  const n = pending.length;
  banner.hidden = n === 0;
  if (n) $("[data-alert-banner-text]").textContent = `${n} signalement${n > 1 ? "s" : ""} en attente de décision`;
  document.title = n ? `(${n}) ${baseTitle}` : baseTitle;
}

$("[data-alert-banner-go]").addEventListener("click", () => {
  const [first] = pendingAlerts();
  if (first) openAlert(first.id);
});

// ------------------------------------------------------------------ the dialog

function fill(c) {
  const a = c.alert;
  $("[data-alert-who]").textContent = listName(c);
  $("[data-alert-question]").textContent = `Question ${a.question_index + 1} sur ${c.progress.total}`;
  $("[data-alert-category]").textContent = a.category_label;
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
    const who = c ? personName(c) : "le candidat";
    toast(verb === "validate" ? `Signalement validé : ${who} reçoit une nouvelle question.` : `Signalement refusé : ${who} continue sur la même question.`);
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
    live.textContent = `Signalement de ${listName(c)} : ${a.category_label}`;
    ring(c, a);
    return;
  }
  // Someone else decided the alert this dialog shows: say who, and close it.
  if (ctx.open && ctx.open.alertId === a.id && !ctx.deciding) {
    closeDialog();
    const name = event.actor ? event.actor.name : "Un surveillant";
    toast(`${name} a déjà traité ce signalement.`, "info");
    announce(`${name} a déjà traité ce signalement.`);
  }
}

// ------------------------------------------------------------------ sound and notifications

function renderToggle() {
  if (!toggle) return;
  toggle.setAttribute("aria-pressed", ctx.soundOn ? "true" : "false");
  $("[data-alert-toggle-state]", toggle).textContent = ctx.soundOn ? "activés" : "désactivés";
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
    const note = new Notification(`Signalement — ${baseTitle.split(" · ")[0]}`, {
      body: `${listName(c)} : ${a.category_label}`,
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
  toast(denied ? "Son activé. Les notifications sont bloquées par le navigateur." : "Son et notifications activés pour les signalements.");
}

export function setupAlerts({ sessionId, candidates, onRefusal }) {
  ctx.sessionId = sessionId;
  ctx.candidates = candidates;
  ctx.onRefusal = onRefusal;
  ctx.soundOn = localStorage.getItem(SOUND_KEY) === "on";
  if (toggle) toggle.addEventListener("click", switchSound);
  renderToggle();
}
