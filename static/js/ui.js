import { h, $ } from "./dom.js";
import { t } from "./i18n.js";

const TOAST_MS = 6000;

export function toast(message, kind = "success") {
  const region = $("[data-toasts]");
  if (!region) return;
  const item = h(
    "div",
    { class: `toast toast--${kind}` },
    h("p", { class: "toast__text", text: message }),
    h("button", {
      type: "button",
      class: "toast__close",
      "aria-label": t("Fermer la notification"),
      text: "×",
      onclick: () => item.remove(),
    }),
  );
  region.append(item);
  setTimeout(() => item.remove(), TOAST_MS);
}

// Screen-reader news that needs no visible trace (the list already shows it).
let pending = [];
let flushTimer = null;
export function announce(message) {
  const region = $("[data-announcer]");
  if (!region) return;
  pending.push(message);
  // Batched: a burst of events becomes one announcement instead of many cut-off ones.
  clearTimeout(flushTimer);
  flushTimer = setTimeout(() => {
    region.textContent = pending.join(". ");
    pending = [];
  }, 250);
}

const FOCUSABLE = 'button:not([disabled]), [href], input:not([disabled]), select, textarea, [tabindex]:not([tabindex="-1"])';

// Native modal <dialog> makes the page inert; the Tab loop also keeps focus off the browser chrome.
export function confirmDialog({ title, body, confirmLabel = t("Confirmer"), danger = false }) {
  const dialog = $("[data-confirm]");
  const opener = document.activeElement;
  $("[data-confirm-title]", dialog).textContent = title;
  const bodyEl = $("[data-confirm-body]", dialog);
  bodyEl.replaceChildren(...(Array.isArray(body) ? body : [body]).map((p) => h("p", { text: p })));
  const ok = $("[data-confirm-ok]", dialog);
  ok.textContent = confirmLabel;
  ok.classList.toggle("button--danger", danger);
  dialog.returnValue = "";

  const trap = (event) => {
    if (event.key !== "Tab") return;
    const items = [...dialog.querySelectorAll(FOCUSABLE)];
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  };
  dialog.addEventListener("keydown", trap);
  dialog.showModal();
  // The safe choice gets the focus: Enter by habit must not end someone's test.
  $("[data-confirm-cancel]", dialog).focus();

  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        dialog.removeEventListener("keydown", trap);
        if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
        resolve(dialog.returnValue === "confirm");
      },
      { once: true },
    );
  });
}

export function showFormError(form, message) {
  const box = $("[data-form-error]", form);
  if (!box) return;
  if (!message) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  box.hidden = false;
  box.replaceChildren(...(Array.isArray(message) ? message : [message]).map((m) => (m instanceof Node ? m : h("p", { text: m }))));
}

export function setBusy(button, busy, busyLabel) {
  if (busy) {
    button.dataset.label = button.textContent;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    if (busyLabel) button.textContent = busyLabel;
  } else {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    if (button.dataset.label) button.textContent = button.dataset.label;
  }
}

// Says which of the `names` fields (all of `labels` by default) are empty and focuses the
// first; true when every one is filled in.
export function filledIn(form, values, labels, names = Object.keys(labels)) {
  const missing = names.filter((k) => !values[k]);
  if (!missing.length) return true;
  showFormError(form, t("Champs à renseigner : %(fields)s.", { fields: missing.map((k) => labels[k]).join(", ") }));
  form.querySelector(`[name="${missing[0]}"]`).focus();
  return false;
}

export function formValues(form) {
  const data = {};
  for (const [key, value] of new FormData(form)) data[key] = typeof value === "string" ? value.trim() : value;
  return data;
}
