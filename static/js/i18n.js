// The browser's words. Every text is written in French in the code, and that French text is
// the key (msgid) of its translation: the page carries the catalog of its language
// (<script type="application/json" id="i18n">, filled by the server from js.po), and a text
// missing from it shows in French rather than as a code. French pages carry an empty one.
//
//   t("Message envoyé.")
//   t("Le test de %(name)s a repris.", { name })
//   tn("%(n)s candidat", "%(n)s candidats", count)       // n is given, formatted, for free
//
// Placeholders are Python's named ones, %(name)s, as in the server's catalogs, so one test
// checks both. Never build the msgid at run time (no template literal inside t()): the
// extraction (babel-js.cfg) only sees literal strings.
import { embedded } from "./dom.js";

let catalog = null;
let language = null;

// The page's language, as the server chose it (<html lang>): "fr" without a page.
export function lang() {
  if (language) return language;
  const fromPage = typeof document !== "undefined" ? document.documentElement.lang : "";
  return fromPage || "fr";
}

function messages() {
  if (catalog === null) catalog = (typeof document !== "undefined" && embedded("i18n")) || {};
  return catalog;
}

// For node's tests and for tools: another catalog and language than the page's.
export function useCatalog(entries, locale) {
  catalog = entries && typeof entries === "object" ? entries : {};
  language = locale || null;
}

// With params, "%%" is a literal "%", as in Python ("temps majoré +%(percent)s %%").
const PLACEHOLDER = /%\((\w+)\)s|%%/g;

function fill(text, params) {
  if (!params) return text;
  return text.replace(PLACEHOLDER, (whole, name) => {
    if (whole === "%%") return "%";
    return name in params ? String(params[name]) : whole;
  });
}

export function t(msgid, params) {
  const found = messages()[msgid];
  return fill(typeof found === "string" && found ? found : msgid, params);
}

// Which form a count takes. Both our languages have two (one, other); they differ on 0,
// which Intl knows: French says "0 candidat", English "0 candidates".
function pluralIndex(n) {
  try {
    return new Intl.PluralRules(lang()).select(n) === "one" ? 0 : 1;
  } catch {
    return n === 1 ? 0 : 1;
  }
}

export function tn(singular, plural, n, params = {}) {
  const index = pluralIndex(n);
  const forms = messages()[singular];
  const chosen = Array.isArray(forms) && forms[index] ? forms[index] : index === 0 ? singular : plural;
  return fill(chosen, { n: number(n), ...params });
}

export function number(n) {
  return new Intl.NumberFormat(lang()).format(n);
}
