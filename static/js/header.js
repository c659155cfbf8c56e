import { api } from "./api.js";
import { $ } from "./dom.js";

const box = $("[data-account]");
if (box) {
  api("GET", "/api/me").then((res) => {
    if (!res.ok) return;
    const { user } = res.data;
    $("[data-account-name]", box).textContent = `${user.first_name} ${user.last_name}`;
    for (const el of document.querySelectorAll("[data-account-email]")) el.textContent = user.email;
    document.dispatchEvent(new CustomEvent("account", { detail: res.data }));
  });
  $("[data-logout]", box).addEventListener("click", async () => {
    await api("POST", "/api/auth/logout");
    location.assign("/connexion");
  });
}
