"""The French words shown for the incident categories (pages, procès-verbal, CSV)."""

from __future__ import annotations

from vocabulary import AlertCategory, AlertStatus, ReportCategory, ReportOrigin

ALERT_CATEGORIES: dict[str, str] = {
    AlertCategory.IMAGE: "L'image ne s'affiche pas",
    AlertCategory.DISPLAY: "La question ou ses réponses ne s'affichent pas correctement",
    AlertCategory.LINK: "Un lien ou un fichier ne s'ouvre pas",
    AlertCategory.EXTRA_TIME: "Mon temps majoré n'est pas appliqué",
    AlertCategory.ACCESSIBILITY: "J'ai besoin d'un aménagement d'accessibilité",
    AlertCategory.OTHER: "Autre",
}
REPORT_CATEGORIES: dict[str, str] = {
    ReportCategory.ATTENDANCE: "Retard, absence ou départ anticipé",
    ReportCategory.IDENTITY: "Modification des informations du candidat",
    ReportCategory.ACCESSIBILITY: "Aménagement d'accessibilité",
    ReportCategory.TECHNICAL: "Incident technique",
    ReportCategory.QUESTION: "Problème sur une question",
    ReportCategory.FRAUD: "Suspicion de fraude",
    ReportCategory.OTHER: "Autre",
}
ALERT_STATUSES: dict[str, str] = {
    AlertStatus.PENDING: "en attente",
    AlertStatus.VALIDATED: "validé",
    AlertStatus.REFUSED: "refusé",
    AlertStatus.CLOSED: "clos à la fin du test",
}
REPORT_ORIGINS: dict[str, str] = {
    ReportOrigin.SUPERVISOR: "Rapport d'un surveillant",
    ReportOrigin.ALERT: "Décision sur un signalement",
    ReportOrigin.END_TEST: "Motif de fin de test",
    ReportOrigin.FINALIZATION: "Motif à la finalisation",
    ReportOrigin.TIME_ADJUSTMENT: "Temps ajusté",
}
