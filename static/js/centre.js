// The centre's sessions, and a form to plan a new one.
import { api, fieldMessage, loginUrl } from "./api.js";
import { h, $ } from "./dom.js";
import { frDate, plural } from "./format.js";
import { formValues, setBusy, showFormError } from "./ui.js";
import { SessionStatus } from "./vocabulary.js";

const LABELS = { address: "Nom du site", room: "Nom de la salle", examiner: "Surveillant(s)", date: "Date de début", time: "Heure de début" };
const listEl = $("[data-centres]");
const form = $("[data-create-form]");

function pageError(message) {
  const box = $("[data-page-error]");
  box.hidden = false;
  box.replaceChildren(h("p", { text: message }));
}

function statusTag(s) {
  return s.status === SessionStatus.FINALIZED ? h("span", { class: "tag tag--neutral", text: "Finalisée" }) : h("span", { class: "tag tag--success", text: "Ouverte" });
}

function sessionItem(s) {
  return h(
    "li",
    {},
    h(
      "div",
      {},
      h("a", { href: `/centre/sessions/${s.id}`, class: "candidate__name", text: `Session ${s.id}` }),
      h("p", { class: "muted small flush", text: `${frDate(s.date)} · ${s.time} · ${s.address} · ${s.room}` }),
    ),
    statusTag(s),
  );
}

async function load() {
  const me = await api("GET", "/api/me");
  if (!me.ok) {
    if (me.status === 401) location.assign(loginUrl());
    else pageError(me.error.message);
    return;
  }
  const { centres } = me.data;
  listEl.removeAttribute("aria-busy");
  if (!centres.length) {
    listEl.replaceChildren(
      h(
        "div",
        { class: "card" },
        h("p", { text: "Votre compte n'est membre d'aucun centre de certification." }),
        h("p", { class: "muted", text: "Demandez à l'administrateur de votre centre de vous y ajouter. Pour surveiller une session, rendez-vous dans l'espace surveillant." }),
        h("a", { class: "button button--secondary", href: "/surveillance", text: "Espace surveillant" }),
      ),
    );
    return;
  }
  const cards = await Promise.all(
    centres.map(async (centre) => {
      const res = await api("GET", `/api/centres/${centre.id}/sessions`);
      const card = h("section", { class: "card", "aria-labelledby": `centre-${centre.id}` }, h("h2", { id: `centre-${centre.id}`, class: "section-title", text: centre.name }));
      if (!res.ok) {
        card.append(h("p", { class: "form-error", text: res.error.message }));
        return card;
      }
      const { sessions } = res.data;
      card.append(h("p", { class: "muted", text: sessions.length ? plural(sessions.length, "session", "sessions") : "Aucune session pour l'instant." }));
      if (sessions.length) card.append(h("ul", { class: "session-links", role: "list" }, sessions.map(sessionItem)));
      return card;
    }),
  );
  listEl.replaceChildren(...cards);
  const select = $("[data-centre-select]");
  select.replaceChildren(...centres.map((c) => h("option", { value: String(c.id), text: c.name })));
  $("[data-centre-field]").hidden = centres.length < 2;
  $("[data-create]").hidden = false;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const values = formValues(form);
  const missing = Object.keys(LABELS).filter((k) => !values[k]);
  if (missing.length) {
    showFormError(form, `Champs à renseigner : ${missing.map((k) => LABELS[k]).join(", ")}.`);
    form.querySelector(`[name="${missing[0]}"]`).focus();
    return;
  }
  const button = form.querySelector('[type="submit"]');
  setBusy(button, true);
  const { centre, ...body } = values;
  const res = await api("POST", `/api/centres/${Number(centre)}/sessions`, body);
  setBusy(button, false);
  if (res.ok) {
    location.assign(`/centre/sessions/${res.data.session.id}`);
    return;
  }
  showFormError(form, fieldMessage(res.error, LABELS));
});

load();
