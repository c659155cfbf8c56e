import assert from "node:assert/strict";
import { test } from "node:test";

import { clock, countdown, fold, frDate, listName, personName, plural } from "../../static/js/format.js";

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

test("dates are French, and anything else is shown as nothing", () => {
  assert.equal(frDate("2021-12-28"), "28/12/2021");
  assert.equal(frDate("2021-12-28T11:00:00Z"), "28/12/2021");
  assert.equal(frDate("28/12/2021"), "");
  assert.equal(frDate(""), "");
  assert.equal(frDate(null), "");
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

test("plural agrees with the number, French style (0 and 1 are singular)", () => {
  assert.equal(plural(0, "candidat", "candidats"), "0 candidat");
  assert.equal(plural(1, "candidat", "candidats"), "1 candidat");
  assert.equal(plural(2, "candidat", "candidats"), "2 candidats");
});
