// The filter row above the candidate list: Tous · À traiter · Non commencés · En cours ·
// Terminés, each with its count; the search box keeps working inside the chosen filter.
import { setText, $ } from "./dom.js";
import { t } from "./i18n.js";
import { CandidateStatus as Status, isEnded } from "./vocabulary.js";

// `attention(c)` < 4 means the row needs a supervisor (see supervision.js).
const FILTERS = {
  all: () => true,
  todo: (c, attention) => attention(c) < 4,
  not_started: (c) => c.status === Status.NOT_STARTED,
  in_progress: (c) => c.status === Status.IN_PROGRESS,
  ended: (c) => isEnded(c.status),
};

let current = "all";
const root = $("[data-filters]");

export function inFilter(c, attention) {
  return FILTERS[current](c, attention);
}

export function renderFilters(candidates, attention) {
  if (!root) return;
  const all = [...candidates];
  for (const [key, test] of Object.entries(FILTERS)) {
    const n = all.filter((c) => test(c, attention)).length;
    const button = $(`[data-filter="${key}"]`, root);
    setText($(`[data-filter-count="${key}"]`, root), String(n));
    button.classList.toggle("filter--urgent", key === "todo" && n > 0);
  }
  const none = $("[data-no-match]");
  if (none) {
    setText(
      none,
      current === "all" ? t("Aucun candidat ne correspond à votre recherche.") : t("Aucun candidat dans ce filtre ne correspond à votre recherche."),
    );
  }
}

export function setupFilters(onChange) {
  if (!root) return;
  root.addEventListener("click", (event) => {
    const button = event.target.closest("[data-filter]");
    if (!button) return;
    current = button.dataset.filter;
    for (const b of root.querySelectorAll("[data-filter]")) b.setAttribute("aria-pressed", b === button ? "true" : "false");
    onChange();
  });
}
