"""The words shown for the incident categories (pages, procès-verbal, CSV): French msgids,
put into the reader's language where they are shown (`words`, or gettext on one)."""

from __future__ import annotations

from app.i18n import N_, gettext
from vocabulary import AlertCategory, AlertStatus, ReportCategory, ReportOrigin

ALERT_CATEGORIES: dict[str, str] = {
    AlertCategory.IMAGE: N_("L'image ne s'affiche pas"),
    AlertCategory.DISPLAY: N_("La question ou ses réponses ne s'affichent pas correctement"),
    AlertCategory.LINK: N_("Un lien ou un fichier ne s'ouvre pas"),
    AlertCategory.EXTRA_TIME: N_("Mon temps majoré n'est pas appliqué"),
    AlertCategory.ACCESSIBILITY: N_("J'ai besoin d'un aménagement d'accessibilité"),
    AlertCategory.OTHER: N_("Autre"),
}
REPORT_CATEGORIES: dict[str, str] = {
    ReportCategory.ATTENDANCE: N_("Retard, absence ou départ anticipé"),
    ReportCategory.IDENTITY: N_("Modification des informations du candidat"),
    ReportCategory.ACCESSIBILITY: N_("Aménagement d'accessibilité"),
    ReportCategory.TECHNICAL: N_("Incident technique"),
    ReportCategory.QUESTION: N_("Problème sur une question"),
    ReportCategory.FRAUD: N_("Suspicion de fraude"),
    ReportCategory.OTHER: N_("Autre"),
}
ALERT_STATUSES: dict[str, str] = {
    AlertStatus.PENDING: N_("en attente"),
    AlertStatus.VALIDATED: N_("validé"),
    AlertStatus.REFUSED: N_("refusé"),
    AlertStatus.CLOSED: N_("clos à la fin du test"),
}
REPORT_ORIGINS: dict[str, str] = {
    ReportOrigin.SUPERVISOR: N_("Rapport d'un surveillant"),
    ReportOrigin.ALERT: N_("Décision sur un signalement"),
    ReportOrigin.END_TEST: N_("Motif de fin de test"),
    ReportOrigin.FINALIZATION: N_("Motif à la finalisation"),
    ReportOrigin.TIME_ADJUSTMENT: N_("Temps ajusté"),
}


def words(table: dict[str, str]) -> dict[str, str]:
    """A table's labels in the request's language (a page's select, its embedded JSON)."""
    return {code: gettext(label) for code, label in table.items()}
