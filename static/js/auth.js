import { api, fieldMessage } from "./api.js";
import { $ } from "./dom.js";
import { safeNext } from "./next.js";
import { formValues, setBusy, showFormError } from "./ui.js";
import { t } from "./i18n.js";

const LABELS = { email: t("Adresse e-mail"), password: t("Mot de passe"), first_name: t("Prénom"), last_name: t("Nom") };

// Where to go once logged in. The server decided `next` (a path on this site, else "/");
// the same rule again here, in case the answer or the page was tampered with on the way.
async function destination(answered) {
  const next = safeNext(answered);
  if (next !== "/") return next;
  // No page asked for: centre staff land on their centre's space, anyone else on
  // "Surveiller une session" (the guide's step 1).
  const me = await api("GET", "/api/me");
  return me.ok && Array.isArray(me.data.centres) && me.data.centres.length ? "/centre" : "/surveillance";
}

function wire(form, endpoint) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(form);
    const missing = Object.entries(values).filter(([, v]) => !v).map(([k]) => LABELS[k]);
    if (missing.length) {
      showFormError(form, t("Champs à renseigner : %(fields)s.", { fields: missing.join(", ") }));
      form.querySelector(`[name="${Object.entries(values).find(([, v]) => !v)[0]}"]`).focus();
      return;
    }
    const button = form.querySelector('[type="submit"]');
    setBusy(button, true);
    const res = await api("POST", endpoint, { ...values, next: safeNext(form.dataset.next) });
    setBusy(button, false);
    if (res.ok) {
      location.assign(await destination(res.data && res.data.next));
      return;
    }
    showFormError(form, fieldMessage(res.error, LABELS));
    const field = res.error.field && form.querySelector(`[name="${res.error.field}"]`);
    if (field) field.focus();
  });
}

const login = $("[data-login-form]");
if (login) wire(login, "/api/auth/login");
const signup = $("[data-signup-form]");
if (signup) wire(signup, "/api/auth/signup");
