// The words for the incident categories, from their codes. The server sends each alert and
// report with its `category` code; the words are chosen here, in the reader's language, because
// one live event reaches supervisors who read different languages. Same French as app/labels.py.
import { t } from "./i18n.js";
import { AlertCategory, ReportCategory } from "./vocabulary.js";

const ALERT = {
  [AlertCategory.IMAGE]: () => t("L'image ne s'affiche pas"),
  [AlertCategory.DISPLAY]: () => t("La question ou ses réponses ne s'affichent pas correctement"),
  [AlertCategory.LINK]: () => t("Un lien ou un fichier ne s'ouvre pas"),
  [AlertCategory.EXTRA_TIME]: () => t("Mon temps majoré n'est pas appliqué"),
  [AlertCategory.ACCESSIBILITY]: () => t("J'ai besoin d'un aménagement d'accessibilité"),
  [AlertCategory.OTHER]: () => t("Autre"),
};

const REPORT = {
  [ReportCategory.ATTENDANCE]: () => t("Retard, absence ou départ anticipé"),
  [ReportCategory.IDENTITY]: () => t("Modification des informations du candidat"),
  [ReportCategory.ACCESSIBILITY]: () => t("Aménagement d'accessibilité"),
  [ReportCategory.TECHNICAL]: () => t("Incident technique"),
  [ReportCategory.QUESTION]: () => t("Problème sur une question"),
  [ReportCategory.FRAUD]: () => t("Suspicion de fraude"),
  [ReportCategory.OTHER]: () => t("Autre"),
};

// An unknown code (a newer server) shows the server's own label rather than nothing.
export function alertCategory(alert) {
  const words = ALERT[alert.category];
  return words ? words() : alert.category_label || alert.category;
}

export function reportCategory(report) {
  const words = REPORT[report.category];
  return words ? words() : report.category_label || report.category;
}
