// "Mon compte": the browsers where this account is logged in, ending them, changing the password.
import { api, fieldMessage, loginUrl } from "./api.js";
import { h, $ } from "./dom.js";
import { clock, frDate, plural } from "./format.js";
import { announce, confirmDialog, filledIn, formValues, setBusy, showFormError, toast } from "./ui.js";

const LABELS = { current_password: "Mot de passe actuel", new_password: "Nouveau mot de passe" };
const listEl = $("[data-devices]");
const endOthers = $("[data-end-others]");
const form = $("[data-password-form]");

function pageError(message) {
  const box = $("[data-page-error]");
  box.hidden = !message;
  box.replaceChildren(...(message ? [h("p", { text: message })] : []));
}

// A short name for a browser, from its User-Agent: enough to recognise one's own devices.
function deviceName(agent) {
  const ua = agent || "";
  const browser = [["Edg/", "Edge"], ["OPR/", "Opera"], ["Firefox/", "Firefox"], ["Chrome/", "Chrome"], ["Chromium/", "Chromium"], ["Safari/", "Safari"]].find(([k]) => ua.includes(k));
  const system = [["iPhone", "iPhone"], ["iPad", "iPad"], ["Android", "Android"], ["Windows", "Windows"], ["Mac OS X", "macOS"], ["CrOS", "ChromeOS"], ["Linux", "Linux"]].find(([k]) => ua.includes(k));
  if (!browser && !system) return ua ? ua.slice(0, 60) : "Navigateur inconnu";
  return [browser && browser[1], system && system[1]].filter(Boolean).join(" · ");
}

function when(iso) {
  return `${frDate(iso)} à ${clock(iso)}`;
}

function unauthorised(res) {
  if (res.status !== 401) return false;
  location.assign(loginUrl());
  return true;
}

async function endOne(session, button) {
  setBusy(button, true);
  const res = await api("DELETE", `/api/auth/sessions/${session.id}`);
  setBusy(button, false);
  if (unauthorised(res)) return;
  if (!res.ok && res.status !== 404) {
    pageError(res.error.message);
    return;
  }
  toast(`${deviceName(session.user_agent)} est déconnecté.`);
  await load();
}

function item(session) {
  const name = deviceName(session.user_agent);
  return h(
    "li",
    { class: "device", dataset: { sessionId: String(session.id) } },
    h(
      "div",
      {},
      h("p", { class: "device__name flush" }, name, session.current ? h("span", { class: "tag tag--success device__tag", text: "Cet appareil" }) : null),
      h("p", { class: "muted small flush", text: `Connecté le ${when(session.created_at)} · dernière activité le ${when(session.last_seen_at)}` }),
    ),
    session.current
      ? null
      : h("button", {
          type: "button",
          class: "button button--ghost button--small",
          text: "Déconnecter",
          "aria-label": `Déconnecter ${name}, connecté le ${when(session.created_at)}`,
          onclick: (event) => endOne(session, event.currentTarget),
        }),
  );
}

async function load() {
  const res = await api("GET", "/api/auth/sessions");
  if (unauthorised(res)) return;
  if (!res.ok) {
    pageError(res.error.message);
    return;
  }
  pageError(null);
  const { sessions } = res.data;
  listEl.replaceChildren(...sessions.map(item));
  listEl.setAttribute("aria-busy", "false");
  endOthers.hidden = !sessions.some((s) => !s.current);
}

endOthers.addEventListener("click", async () => {
  const ok = await confirmDialog({
    title: "Déconnecter les autres appareils ?",
    body: "Votre compte restera ouvert sur cet appareil seulement.",
    confirmLabel: "Déconnecter",
    danger: true,
  });
  if (!ok) return;
  setBusy(endOthers, true);
  const res = await api("DELETE", "/api/auth/sessions");
  setBusy(endOthers, false);
  if (unauthorised(res)) return;
  if (!res.ok) {
    pageError(res.error.message);
    return;
  }
  toast(res.data.ended ? `${plural(res.data.ended, "appareil déconnecté", "appareils déconnectés")}.` : "Aucun autre appareil n'était connecté.");
  await load();
  endOthers.focus();
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const values = formValues(form);
  if (!filledIn(form, values, LABELS)) return;
  const button = form.querySelector('[type="submit"]');
  setBusy(button, true);
  const res = await api("POST", "/api/auth/password", values);
  setBusy(button, false);
  if (res.ok) {
    showFormError(form, null);
    form.reset();
    const others = res.data.ended ? ` ${plural(res.data.ended, "autre appareil déconnecté", "autres appareils déconnectés")}.` : "";
    toast(`Mot de passe modifié.${others}`);
    announce("Mot de passe modifié.");
    await load();
    return;
  }
  if (unauthorised(res)) return;
  showFormError(form, fieldMessage(res.error, LABELS));
  const field = form.querySelector(`[name="${res.error.field || "current_password"}"]`);
  if (field) field.focus();
});

load();
