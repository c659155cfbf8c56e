// "Mon compte": the browsers where this account is logged in, ending them, changing the password.
import { api, fieldMessage, loginUrl } from "./api.js";
import { h, $ } from "./dom.js";
import { clock, shortDate } from "./format.js";
import { t, tn } from "./i18n.js";
import { announce, confirmDialog, filledIn, formValues, setBusy, showFormError, toast } from "./ui.js";

const LABELS = { current_password: t("Mot de passe actuel"), new_password: t("Nouveau mot de passe") };
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
  if (!browser && !system) return ua ? ua.slice(0, 60) : t("Navigateur inconnu");
  return [browser && browser[1], system && system[1]].filter(Boolean).join(" · ");
}

function when(iso) {
  return t("%(date)s à %(time)s", { date: shortDate(iso), time: clock(iso) });
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
  toast(t("%(device)s est déconnecté.", { device: deviceName(session.user_agent) }));
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
      h("p", { class: "device__name flush" }, name, session.current ? h("span", { class: "tag tag--success device__tag", text: t("Cet appareil") }) : null),
      h("p", { class: "muted small flush", text: t("Connecté le %(created)s · dernière activité le %(seen)s", { created: when(session.created_at), seen: when(session.last_seen_at) }) }),
    ),
    session.current
      ? null
      : h("button", {
          type: "button",
          class: "button button--ghost button--small",
          text: t("Déconnecter"),
          "aria-label": t("Déconnecter %(device)s, connecté le %(created)s", { device: name, created: when(session.created_at) }),
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
    title: t("Déconnecter les autres appareils ?"),
    body: t("Votre compte restera ouvert sur cet appareil seulement."),
    confirmLabel: t("Déconnecter"),
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
  toast(
    res.data.ended
      ? tn("%(n)s appareil déconnecté.", "%(n)s appareils déconnectés.", res.data.ended)
      : t("Aucun autre appareil n'était connecté."),
  );
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
    const changed = t("Mot de passe modifié.");
    const others = res.data.ended ? tn("%(n)s autre appareil déconnecté.", "%(n)s autres appareils déconnectés.", res.data.ended) : "";
    toast(others ? `${changed} ${others}` : changed);
    announce(changed);
    await load();
    return;
  }
  if (unauthorised(res)) return;
  showFormError(form, fieldMessage(res.error, LABELS));
  const field = form.querySelector(`[name="${res.error.field || "current_password"}"]`);
  if (field) field.focus();
});

load();
