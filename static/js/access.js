import { api, loginUrl } from "./api.js";
import { $ } from "./dom.js";
import { formValues, setBusy, showFormError } from "./ui.js";
import { t } from "./i18n.js";

const form = $("[data-access-form]");

$("[data-switch-account]").addEventListener("click", async (event) => {
  event.preventDefault();
  await api("POST", "/api/auth/logout");
  location.assign("/connexion?next=/surveillance");
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const values = formValues(form);
  if (!values.session_id || !values.supervisor_password) {
    showFormError(form, t("Tous les champs sont obligatoires : renseignez le numéro et le mot de passe de la session."));
    form.querySelector(values.session_id ? "#supervisor_password" : "#session_id").focus();
    return;
  }
  if (!/^\d{1,9}$/.test(values.session_id)) {
    showFormError(form, t("Le numéro de la session ne contient que des chiffres."));
    form.querySelector("#session_id").focus();
    return;
  }
  const button = form.querySelector('[type="submit"]');
  setBusy(button, true);
  const res = await api("POST", "/api/supervision/access", {
    session_id: Number(values.session_id),
    supervisor_password: values.supervisor_password,
  });
  setBusy(button, false);
  if (res.ok) {
    location.assign(`/surveillance/sessions/${Number(values.session_id)}`);
    return;
  }
  if (res.error.code === "NOT_AUTHENTICATED") {
    location.assign(loginUrl());
    return;
  }
  const messages = {
    INCORRECT_DATA: t("Le numéro de session et/ou le mot de passe saisis sont incorrects."),
    TOO_MANY_ATTEMPTS: t("Trop de tentatives : par sécurité, patientez quelques minutes avant de réessayer."),
    SESSION_FINALIZED: t("Cette session est finalisée : elle ne peut plus être surveillée."),
  };
  showFormError(form, messages[res.error.code] || res.error.message);
});
