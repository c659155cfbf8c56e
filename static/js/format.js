// Display rules shared by every page: names as the guide prints them, dates, times and
// durations in the page's language (Intl, with <html lang>).
import { lang, t } from "./i18n.js";

// The same folding as the server's (app/codes.py), so both sort the list in one order.
export function fold(text) {
  return String(text ?? "")
    .normalize("NFKD")
    .replace(/[\u0300-\u036f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]/g, "")
    .toLocaleLowerCase("fr")
    .replace(/[-\u2010-\u2014'\u2019_.\s]+/g, " ")
    .trim();
}

// Times are shown in the sessions' time zone (the page says which), as the server renders
// them: a browser set to another zone shows the same hours as the HTML it was sent.
const ZONE = (typeof document !== "undefined" && document.querySelector('meta[name="timezone"]')?.content) || undefined;

// "DUPONT Paul", as in the guide's candidate list (in every language: names are not translated).
export function listName(c) {
  return `${String(c.last_name).toLocaleUpperCase("fr")} ${c.first_name}`;
}

// "Paul Dupont", as in the guide's confirmations.
export function personName(c) {
  return `${c.first_name} ${c.last_name}`;
}

// A calendar day ("2021-12-28", or the date part of a timestamp) as the server writes it
// (app/i18n.format_date): 28/12/2021 in French, the guide's way; 28 Dec 2021 in English, where
// 07/04/2001 would read two ways. Read as a day, not an instant, so no time zone moves it.
export function shortDate(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || "");
  if (!m) return "";
  const day = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  const [locale, parts] = lang() === "fr" ? ["fr", { day: "2-digit", month: "2-digit" }] : ["en-GB", { day: "numeric", month: "short" }];
  return new Intl.DateTimeFormat(locale, { ...parts, year: "numeric", timeZone: "UTC" }).format(day);
}

// Formatters made once per language: toLocaleTimeString would build one per call, and a
// dashboard writes a hundred times at once (rows, activity).
const CLOCKS = new Map();

function clockFormat(seconds) {
  const key = `${lang()} ${seconds}`;
  if (!CLOCKS.has(key)) {
    const parts = { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: ZONE };
    if (seconds) parts.second = "2-digit";
    CLOCKS.set(key, new Intl.DateTimeFormat(lang(), parts));
  }
  return CLOCKS.get(key);
}

// A time of day on the 24-hour clock in every language, as the server's pages write times.
export function clock(isoDateTime, { seconds = false } = {}) {
  if (!isoDateTime) return "";
  const d = new Date(isoDateTime);
  if (Number.isNaN(d.getTime())) return "";
  return clockFormat(seconds).format(d);
}

const two = (n) => String(n).padStart(2, "0");

export function countdown(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const rest = two(s % 60);
  return hours > 0
    ? t("%(hours)s h %(minutes)s min %(seconds)s s", { hours, minutes: two(minutes), seconds: rest })
    : t("%(minutes)s min %(seconds)s s", { minutes, seconds: rest });
}

// How long a pause has lasted: "moins d'1 min", "12 min", "1 h 05" (app/display.py says the same).
export function pausedFor(since, now = Date.now()) {
  const minutes = Math.floor((now - Date.parse(since)) / 60000);
  if (!Number.isFinite(minutes) || minutes < 1) return t("moins d'1 min");
  if (minutes < 60) return t("%(minutes)s min", { minutes });
  return t("%(hours)s h %(minutes)s", { hours: Math.floor(minutes / 60), minutes: two(minutes % 60) });
}

// +5 min, −5 min, with a real minus sign.
export function signed(minutes) {
  return t("%(sign)s%(minutes)s min", { sign: minutes > 0 ? "+" : "−", minutes: Math.abs(minutes) });
}
