import { api, fieldMessage } from "./api.js";
import { $ } from "./dom.js";
import { formValues, setBusy, showFormError } from "./ui.js";

const LABELS = { email: "Adresse e-mail", password: "Mot de passe", first_name: "Prénom", last_name: "Nom" };

async function destination(form) {
  const next = form.dataset.next || "";
  // The server already keeps only local paths; checked again since the page may be saved and edited.
  if (next.startsWith("/") && !next.startsWith("//")) return next;
  // No page asked for: centre staff land on their centre's space, anyone else on
  // "Surveiller une session" (the guide's step 1).
  const me = await api("GET", "/api/me");
  return me.ok && Array.isArray(me.data.centres) && me.data.centres.length ? "/centre" : "/surveillance";
}

function wire(form, endpoint, missingMessage) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(form);
    const missing = Object.entries(values).filter(([, v]) => !v).map(([k]) => LABELS[k]);
    if (missing.length) {
      showFormError(form, `${missingMessage} ${missing.join(", ")}.`);
      form.querySelector(`[name="${Object.entries(values).find(([, v]) => !v)[0]}"]`).focus();
      return;
    }
    const button = form.querySelector('[type="submit"]');
    setBusy(button, true);
    const res = await api("POST", endpoint, values);
    setBusy(button, false);
    if (res.ok) {
      location.assign(await destination(form));
      return;
    }
    showFormError(form, fieldMessage(res.error, LABELS));
    const field = res.error.field && form.querySelector(`[name="${res.error.field}"]`);
    if (field) field.focus();
  });
}

const login = $("[data-login-form]");
if (login) wire(login, "/api/auth/login", "Champs à renseigner :");
const signup = $("[data-signup-form]");
if (signup) wire(signup, "/api/auth/signup", "Champs à renseigner :");
