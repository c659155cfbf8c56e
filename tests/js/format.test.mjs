import assert from "node:assert/strict";
import { test } from "node:test";

import { clock, countdown, fold, listName, pausedFor, personName, shortDate, signed } from "../../static/js/format.js";
import { useCatalog } from "../../static/js/i18n.js";

// The supervisors' clock times are French local times; the tests pin the zone.
process.env.TZ = "Europe/Paris";

test("fold ignores case, accents, hyphens and extra spaces, as the server's name matching does", () => {
  assert.equal(fold("  Élodie-Marie   DUPRÉ "), "elodie marie dupre");
  assert.equal(fold("Ça"), "ca");
  assert.equal(fold(null), "");
  assert.equal(fold(undefined), "");
  assert.equal(fold(42), "42");
});

test("names are written as the guide writes them", () => {
  const c = { last_name: "Dupont-Élie", first_name: "Paul" };
  assert.equal(listName(c), "DUPONT-ÉLIE Paul");
  assert.equal(personName(c), "Paul Dupont-Élie");
});

test("dates are French without a page, and anything else is shown as nothing", () => {
  useCatalog({}, "fr");
  assert.equal(shortDate("2021-12-28"), "28/12/2021");
  assert.equal(shortDate("2021-12-28T23:30:00Z"), "28/12/2021"); // the day written, whatever the zone
  assert.equal(shortDate("28/12/2021"), "");
  assert.equal(shortDate(""), "");
  assert.equal(shortDate(null), "");
});

test("dates and times follow the page's language", () => {
  useCatalog({}, "en");
  try {
    assert.equal(shortDate("2021-12-28"), "28 Dec 2021");
    assert.equal(shortDate("2001-07-04"), "4 Jul 2001");
    assert.equal(clock("2021-12-28T22:05:00Z"), "23:05");
    assert.equal(clock("2021-12-28T22:05:09Z", { seconds: true }), "23:05:09");
  } finally {
    useCatalog({}, "fr");
  }
});

test("clock shows the local hour and minute of a server time", () => {
  assert.equal(clock("2021-12-28T10:05:00Z"), "11:05"); // winter: UTC+1
  assert.equal(clock("2021-07-04T10:05:00Z"), "12:05"); // summer: UTC+2
  assert.equal(clock(""), "");
  assert.equal(clock(null), "");
  assert.equal(clock("pas une date"), "");
});

test("countdown reads as minutes and seconds, with hours past the hour", () => {
  assert.equal(countdown(0), "0 min 00 s");
  assert.equal(countdown(59.9), "0 min 59 s");
  assert.equal(countdown(300), "5 min 00 s");
  assert.equal(countdown(3599), "59 min 59 s");
  assert.equal(countdown(3600), "1 h 00 min 00 s");
  assert.equal(countdown(6300 + 7), "1 h 45 min 07 s");
  assert.equal(countdown(-5), "0 min 00 s"); // never a negative time left
});

test("a pause's length and a time adjustment, in French and through the catalog", () => {
  const start = Date.parse("2021-12-28T10:00:00Z");
  assert.equal(pausedFor("2021-12-28T10:00:00Z", start + 30_000), "moins d'1 min");
  assert.equal(pausedFor("2021-12-28T10:00:00Z", start + 12 * 60_000), "12 min");
  assert.equal(pausedFor("2021-12-28T10:00:00Z", start + 65 * 60_000), "1 h 05");
  assert.equal(pausedFor("pas une date", start), "moins d'1 min");
  assert.equal(signed(5), "+5 min");
  assert.equal(signed(-5), "−5 min");
  useCatalog({ "moins d'1 min": "under 1 min" }, "en");
  try {
    assert.equal(pausedFor("2021-12-28T10:00:00Z", start), "under 1 min");
  } finally {
    useCatalog({}, "fr");
  }
});

test("fold sorts names as the server does: apostrophes, dots and dashes are spaces", () => {
  assert.equal(fold("d'Arc"), "d arc");
  assert.equal(fold("St.-Pierre"), "st pierre");
  assert.equal(fold("Zo\u200be"), "zoe");
});
