// The centre's sessions (rendered by the server) and the form to plan a new one.
import { api, fieldMessage } from "./api.js";
import { $ } from "./dom.js";
import { t } from "./i18n.js";
import { filledIn, formValues, setBusy, showFormError } from "./ui.js";

const LABELS = {
  address: t("Nom du site"),
  room: t("Nom de la salle"),
  examiner: t("Surveillant(s)"),
  date: t("Date de début"),
  time: t("Heure de début"),
};
const form = $("[data-create-form]");

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const values = formValues(form);
  if (!filledIn(form, values, LABELS)) return;
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
