// What room control shows on the candidate's page: the pause, and supervisors' messages.
import { $ } from "./dom.js";
import { countdown } from "./format.js";
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

// A message from a supervisor: shown until the candidate closes it, announced by the
// live region it is added to (the region exists from the page's load, so it is heard).
export function showNotice(message) {
  const region = $("[data-room-notices]");
  if (!region || !message || typeof message.text !== "string") return;
  const item = document.getElementById("room-notice").content.firstElementChild.cloneNode(true);
  $("[data-notice-text]", item).textContent = message.text;
  const close = $(".room-notice__close", item);
  close.addEventListener("click", () => {
    item.remove();
    const heading = $("main [data-step]:not([hidden]) [tabindex='-1']");
    if (heading) heading.focus();
  });
  region.append(item);
}
