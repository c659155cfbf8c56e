import assert from "node:assert/strict";
import { afterEach, test } from "node:test";

import { lang, number, t, tn, useCatalog } from "../../static/js/i18n.js";

// Entries as the server writes them from js.po: a msgid's translation, or a plural's forms.
const EN = {
  "Message envoyé.": "Message sent.",
  "Le test de %(name)s a repris.": "The test of %(name)s has resumed.",
  "%(actor)s a inscrit %(name)s": "%(name)s was enrolled by %(actor)s",
  "%(n)s test en cours": ["%(n)s test in progress", "%(n)s tests in progress"],
  "temps majoré +%(percent)s %%": "extra time +%(percent)s%%",
  "Pas encore traduit": "",
};

afterEach(() => useCatalog({}, null));

test("without a page the language is French and every text is its msgid", () => {
  useCatalog({}, null);
  assert.equal(lang(), "fr");
  assert.equal(t("Message envoyé."), "Message envoyé.");
});

test("a msgid found in the catalog gives its translation", () => {
  useCatalog(EN, "en");
  assert.equal(lang(), "en");
  assert.equal(t("Message envoyé."), "Message sent.");
});

test("placeholders are filled by name, wherever the translation puts them", () => {
  useCatalog(EN, "en");
  assert.equal(t("Le test de %(name)s a repris.", { name: "Paul Dupont" }), "The test of Paul Dupont has resumed.");
  assert.equal(t("%(actor)s a inscrit %(name)s", { actor: "Marie Curie", name: "DUPONT Paul" }), "DUPONT Paul was enrolled by Marie Curie");
  // The French, when there is no translation, is filled the same way.
  assert.equal(t("Bonjour %(name)s", { name: "Léa" }), "Bonjour Léa");
  // A value is text, never a placeholder again, and a missing one stays visible.
  assert.equal(t("Bonjour %(name)s", { name: "%(name)s" }), "Bonjour %(name)s");
  assert.equal(t("Bonjour %(name)s", {}), "Bonjour %(name)s");
});

test("with params, %% is a literal percent sign", () => {
  assert.equal(t("temps majoré +%(percent)s %%", { percent: 30 }), "temps majoré +30 %");
  useCatalog(EN, "en");
  assert.equal(t("temps majoré +%(percent)s %%", { percent: 30 }), "extra time +30%");
});

test("a missing or empty entry falls back to the French msgid", () => {
  useCatalog(EN, "en");
  assert.equal(t("Rapport supprimé."), "Rapport supprimé.");
  assert.equal(t("Pas encore traduit"), "Pas encore traduit");
});

test("plurals follow each language's rule: French 0 and 1 are singular, English only 1", () => {
  useCatalog({}, "fr");
  assert.equal(tn("%(n)s test en cours", "%(n)s tests en cours", 0), "0 test en cours");
  assert.equal(tn("%(n)s test en cours", "%(n)s tests en cours", 1), "1 test en cours");
  assert.equal(tn("%(n)s test en cours", "%(n)s tests en cours", 2), "2 tests en cours");
  useCatalog(EN, "en");
  assert.equal(tn("%(n)s test en cours", "%(n)s tests en cours", 0), "0 tests in progress");
  assert.equal(tn("%(n)s test en cours", "%(n)s tests en cours", 1), "1 test in progress");
  assert.equal(tn("%(n)s test en cours", "%(n)s tests en cours", 2), "2 tests in progress");
});

test("a plural without a translation falls back to the French forms, with other params too", () => {
  useCatalog(EN, "en");
  const words = (n) => tn("%(n)s rapport sur %(name)s", "%(n)s rapports sur %(name)s", n, { name: "DUPONT Paul" });
  assert.equal(words(1), "1 rapport sur DUPONT Paul");
  assert.equal(words(3), "3 rapports sur DUPONT Paul");
});

test("numbers are written in the page's language", () => {
  useCatalog({}, "en");
  assert.equal(number(1234), "1,234");
  useCatalog({}, "fr");
  assert.match(number(1234), /^1\s234$/);
});

test("a catalog that is not an object counts as empty", () => {
  useCatalog(null, "en");
  assert.equal(t("Message envoyé."), "Message envoyé.");
  useCatalog(["x"], "en");
  assert.equal(t("Message envoyé."), "Message envoyé.");
});
