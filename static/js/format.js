// Display rules shared by every page: names as the guide prints them, French dates.

export function fold(text) {
  return String(text ?? "")
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLocaleLowerCase("fr")
    .replace(/[-\s]+/g, " ")
    .trim();
}

// "DUPONT Paul", as in the guide's candidate list.
export function listName(c) {
  return `${String(c.last_name).toLocaleUpperCase("fr")} ${c.first_name}`;
}

// "Paul Dupont", as in the guide's confirmations.
export function personName(c) {
  return `${c.first_name} ${c.last_name}`;
}

export function frDate(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || "");
  return m ? `${m[3]}/${m[2]}/${m[1]}` : "";
}

export function clock(isoDateTime, { seconds = false } = {}) {
  if (!isoDateTime) return "";
  const d = new Date(isoDateTime);
  if (Number.isNaN(d.getTime())) return "";
  const parts = { hour: "2-digit", minute: "2-digit" };
  if (seconds) parts.second = "2-digit";
  return d.toLocaleTimeString("fr-FR", parts);
}

export function countdown(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return hours > 0 ? `${hours} h ${String(minutes).padStart(2, "0")} min ${rest} s` : `${minutes} min ${rest} s`;
}

export function plural(n, one, many) {
  return `${n} ${n > 1 ? many : one}`;
}
