// Same-origin fetch: the browser adds the Origin header the server's CSRF rule checks.

import { t } from "./i18n.js";

const network = () => ({
  code: "NETWORK",
  message: t("Impossible de joindre le serveur. Vérifiez votre connexion puis réessayez."),
});

// Where the server's own message is not the best one for a form, or names a JSON field.
const REWORDED = {
  CSRF_REJECTED: () => t("La requête a été refusée pour des raisons de sécurité. Rechargez la page puis réessayez."),
  INTERNAL_ERROR: () => t("Une erreur inattendue s'est produite. Réessayez dans un instant."),
  SERVICE_UNAVAILABLE: () => t("Le service est momentanément indisponible. Réessayez dans quelques secondes."),
};

// A database or proxy switching over answers 503 (or drops the connection) for a few seconds.
// Reads are retried through it; writes only when the caller says they are idempotent.
const RETRY_DELAYS_MS = [400, 800, 1500, 2500, 4000, 5000, 5000, 5000, 5000];
const RETRYABLE_STATUS = new Set([0, 502, 503, 504]);

export function retryable(res) {
  return !res.ok && RETRYABLE_STATUS.has(res.status);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// « Reconnexion… » while any request waits for the server to come back; one banner for all.
let waiting = 0;
let banner = null;

function reconnecting(delta) {
  waiting += delta;
  if (!banner) {
    banner = document.createElement("div");
    banner.className = "reconnecting";
    banner.setAttribute("role", "status");
    banner.dataset.reconnecting = "";
    banner.hidden = true;
    document.body.append(banner);
  }
  const on = waiting > 0;
  if (on === !banner.hidden) return;
  banner.hidden = !on;
  banner.textContent = on ? t("Reconnexion au serveur… Votre demande sera envoyée dès son retour.") : "";
}

// `retry`: true for reads (the default for GET) and for writes the contract makes idempotent
// (presence, resume, end of test); never for an answer, whose page checks what was applied.
export async function api(method, url, body, { contentType, retry = method === "GET" } = {}) {
  let res = await send(method, url, body, contentType);
  if (!retry || !retryable(res)) return res;
  reconnecting(1);
  try {
    for (const delay of RETRY_DELAYS_MS) {
      await sleep(delay);
      res = await send(method, url, body, contentType);
      if (!retryable(res)) break;
    }
  } finally {
    reconnecting(-1);
  }
  return res;
}

async function send(method, url, body, contentType) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    if (contentType) {
      init.headers["Content-Type"] = contentType;
      init.body = body;
    } else {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    return { ok: false, status: 0, data: null, error: network() };
  }
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  if (response.ok) return { ok: true, status: response.status, data, error: null };
  const raw = (data && data.error) || {};
  const error = {
    code: raw.code || `HTTP_${response.status}`,
    message: (REWORDED[raw.code] && REWORDED[raw.code]()) || raw.message || t("La requête n'a pas abouti. Réessayez."),
    field: data && data.field,
    rows: (data && data.rows) || [],
  };
  return { ok: false, status: response.status, data, error };
}

// INVALID_PAYLOAD names the JSON field ("birthdate : date invalide"); forms name it by its label.
export function fieldMessage(error, labels) {
  if (error.code !== "INVALID_PAYLOAD" || !error.field) return error.message;
  const label = labels[error.field] || error.field;
  // The server writes "birthdate : date invalide" (or "birthdate: invalid date" in English).
  const detail = error.message.startsWith(error.field) ? error.message.slice(error.field.length).replace(/^\s*:\s*/, "") : error.message;
  return t("%(field)s : %(detail)s", { field: label, detail });
}

export function loginUrl() {
  return `/connexion?next=${encodeURIComponent(location.pathname + location.search)}`;
}
