// What room control shows on the candidate's page: the pause, and supervisors' messages.
import { h, $ } from "./dom.js";
import { countdown } from "./format.js";

const PAUSE_PREFIX = "Le test est suspendu par votre surveillant : ";

// The pause screen: the supervisor's message and the time left, stopped.
export function renderPause(c, timeLeftSeconds) {
  $("[data-pause-message]").textContent = `${PAUSE_PREFIX}${c.pause_message || "merci de patienter."}`;
  $("[data-pause-time]").textContent =
    typeof timeLeftSeconds === "number" ? `Temps restant : ${countdown(timeLeftSeconds)} (arrêté pendant la pause)` : "";
}

export function pauseAnnouncement(c) {
  return `${PAUSE_PREFIX}${c.pause_message || "merci de patienter."}`;
}

// A message from a supervisor: shown until the candidate closes it, announced by the
// live region it is added to (the region exists from the page's load, so it is heard).
export function showNotice(message) {
  const region = $("[data-room-notices]");
  if (!region || !message || typeof message.text !== "string") return;
  const close = h("button", { type: "button", class: "room-notice__close", text: "Fermer", "aria-label": "Fermer ce message" });
  const item = h(
    "div",
    { class: "room-notice", role: "note" },
    h("p", { class: "room-notice__title", text: "Message de votre surveillant" }),
    h("p", { class: "room-notice__text", text: message.text }),
    close,
  );
  close.addEventListener("click", () => {
    item.remove();
    const heading = $("main [data-step]:not([hidden]) [tabindex='-1']");
    if (heading) heading.focus();
  });
  region.append(item);
}
