// What room control shows on the candidate's page: the pause, and supervisors' messages.
import { $ } from "./dom.js";
import { clock, countdown } from "./format.js";
import { t } from "./i18n.js";

// A pause without a message of the supervisor's gets these words, in the candidate's language
// (the server stores no text of its own for it).
function pauseWords(c) {
  const message = c.pause_message || t("Merci de rester à votre place.");
  return t("Le test est suspendu par votre surveillant : %(message)s", { message });
}

// The pause screen: the supervisor's message and the time left, stopped.
export function renderPause(c, timeLeftSeconds) {
  $("[data-pause-message]").textContent = pauseWords(c);
  $("[data-pause-time]").textContent =
    typeof timeLeftSeconds === "number" ? t("Temps restant : %(time)s (arrêté pendant la pause)", { time: countdown(timeLeftSeconds) }) : "";
}

export function pauseAnnouncement(c) {
  return pauseWords(c);
}

// Which of the supervisors' messages the page shows. Each version once, whether it came live
// or again in the state the socket sends on each connection (the recent messages, for a page
// whose socket was down). One the candidate closed stays closed after a reload or in another
// tab of this browser (kept per session and candidate); one never closed comes back, since
// nothing says it was read.
const STORE_PREFIX = "surveillance:notices:";
// The server sends back 5 at most; a few more cover those shown live meanwhile.
const CLOSED_KEPT = 20;
// Records of past sessions, left by the candidates of a shared computer, are dropped after this.
const STORE_DAYS = 2;

function browserStorage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // storage refused (privacy settings): closed messages are remembered in this page only
  }
}

export class NoticeLog {
  constructor(storage = browserStorage(), now = () => Date.now()) {
    this.storage = storage;
    this.now = now;
    this.key = null;
    this.shown = new Set();
    this.closed = new Set();
  }

  // Whose messages these are; reads what this browser already closed, once.
  owner(sessionId, candidateId) {
    const key = `${STORE_PREFIX}${sessionId}:${candidateId}`;
    if (key === this.key) return;
    // Another person on this page (the door again, other codes): nothing of the last one counts.
    this.key = key;
    this.shown = new Set();
    this.closed = new Set();
    this.prune();
    const kept = this.read(key);
    for (const v of kept ? kept.closed : []) if (Number.isInteger(v)) this.closed.add(v);
  }

  // Whether to show this message now: not one shown already or closed.
  admit(message) {
    const v = message && message.version;
    if (!Number.isInteger(v)) return true;
    if (this.shown.has(v) || this.closed.has(v)) return false;
    this.shown.add(v);
    return true;
  }

  close(version) {
    if (!Number.isInteger(version)) return;
    this.closed.add(version);
    const newest = [...this.closed].sort((a, b) => b - a).slice(0, CLOSED_KEPT);
    this.closed = new Set(newest);
    if (!this.key || !this.storage) return;
    try {
      this.storage.setItem(this.key, JSON.stringify({ at: this.now(), closed: newest }));
    } catch {
      // Storage full or refused: remembered in this page only.
    }
  }

  read(key) {
    try {
      const kept = JSON.parse(this.storage?.getItem(key) ?? "null");
      return kept && Array.isArray(kept.closed) && Number.isFinite(kept.at) ? kept : null;
    } catch {
      return null;
    }
  }

  prune() {
    if (!this.storage) return;
    const oldest = this.now() - STORE_DAYS * 24 * 3600 * 1000;
    try {
      const ours = [];
      for (let i = 0; i < this.storage.length; i += 1) {
        const key = this.storage.key(i);
        if (key && key.startsWith(STORE_PREFIX)) ours.push(key);
      }
      for (const key of ours) {
        const kept = this.read(key);
        if (!kept || kept.at < oldest) this.storage.removeItem(key);
      }
    } catch {
      // Nothing to tidy when storage is refused.
    }
  }
}

// A message from a supervisor (a socket's `message` frame): shown until the candidate closes
// it, with the time it was sent (one shown after a reconnection may be old news), announced
// by the live region it is added to (the region exists from the page's load, so it is heard).
// In the order sent, whichever arrived first.
export function showNotice(frame, log) {
  const region = $("[data-room-notices]");
  const message = frame && frame.message;
  if (!region || !message || typeof message.text !== "string") return;
  const item = document.getElementById("room-notice").content.firstElementChild.cloneNode(true);
  $("[data-notice-text]", item).textContent = message.text;
  const sent = clock(frame.at);
  $("[data-notice-time]", item).textContent = sent ? t("Envoyé à %(time)s", { time: sent }) : "";
  const version = Number.isInteger(frame.version) ? frame.version : null;
  if (version !== null) item.dataset.version = String(version);
  const close = $(".room-notice__close", item);
  close.addEventListener("click", () => {
    if (log && version !== null) log.close(version);
    item.remove();
    const heading = $("main [data-step]:not([hidden]) [tabindex='-1']");
    if (heading) heading.focus();
  });
  const later = version === null ? null : [...region.children].find((el) => Number(el.dataset.version) > version);
  region.insertBefore(item, later || null);
}
