// The account box: its name is rendered by the server; only the logout button needs a script.
import { api } from "./api.js";
import { $ } from "./dom.js";

const box = $("[data-account]");
if (box) {
  $("[data-logout]", box).addEventListener("click", async () => {
    await api("POST", "/api/auth/logout");
    location.assign("/connexion");
  });
}
