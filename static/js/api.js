// Same-origin fetch: the browser adds the Origin header the server's CSRF rule checks.

const NETWORK = {
  code: "NETWORK",
  message: "Impossible de joindre le serveur. Vérifiez votre connexion puis réessayez.",
};

// Where the server's own message is not the best one for a form, or names a JSON field.
const REWORDED = {
  CSRF_REJECTED: "La requête a été refusée pour des raisons de sécurité. Rechargez la page puis réessayez.",
  INTERNAL_ERROR: "Une erreur inattendue s'est produite. Réessayez dans un instant.",
  SERVICE_UNAVAILABLE: "Le service est momentanément indisponible. Réessayez dans quelques secondes.",
};

export async function api(method, url, body, { contentType } = {}) {
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
    return { ok: false, status: 0, data: null, error: NETWORK };
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
    message: REWORDED[raw.code] || raw.message || "La requête n'a pas abouti. Réessayez.",
    field: data && data.field,
    rows: (data && data.rows) || [],
  };
  return { ok: false, status: response.status, data, error };
}

// INVALID_PAYLOAD names the JSON field ("birthdate : date invalide"); forms name it by its label.
export function fieldMessage(error, labels) {
  if (error.code !== "INVALID_PAYLOAD" || !error.field) return error.message;
  const label = labels[error.field] || error.field;
  const detail = error.message.includes(" : ") ? error.message.split(" : ").slice(1).join(" : ") : error.message;
  return `${label} : ${detail}`;
}

export function loginUrl() {
  return `/connexion?next=${encodeURIComponent(location.pathname + location.search)}`;
}
