// Menu button, keyboard as in the WAI-ARIA Authoring Practices' "menu button" pattern.
import { h } from "./dom.js";

let openMenu = null;
let counter = 0;

document.addEventListener("pointerdown", (event) => {
  if (openMenu && !openMenu.root.contains(event.target)) openMenu.close(false);
});

export function actionMenu({ label, items, disabled = false }) {
  const id = `menu-${++counter}`;
  const button = h("button", {
    type: "button",
    class: "menu-button",
    "aria-haspopup": "menu",
    "aria-expanded": "false",
    "aria-controls": id,
    "aria-label": label,
    disabled,
    text: "⋮",
  });
  const list = h("ul", { class: "menu", id, role: "menu", "aria-label": label, hidden: true });
  const entries = items.map((item) => {
    const entry = h("li", {
      role: "menuitem",
      tabindex: "-1",
      class: `menu__item${item.danger ? " menu__item--danger" : ""}`,
      text: item.label,
    });
    entry.addEventListener("click", () => choose(item));
    list.append(entry);
    return entry;
  });
  const root = h("div", { class: "menu-wrap" }, button, list);

  const state = {
    root,
    close(returnFocus = true) {
      list.hidden = true;
      button.setAttribute("aria-expanded", "false");
      if (openMenu === state) openMenu = null;
      if (returnFocus) button.focus();
    },
  };

  function open(focusIndex = 0) {
    if (openMenu && openMenu !== state) openMenu.close(false);
    list.hidden = false;
    button.setAttribute("aria-expanded", "true");
    openMenu = state;
    entries[(focusIndex + entries.length) % entries.length].focus();
  }

  function choose(item) {
    state.close(true);
    // After the focus is back on the button, so the dialog returns it there too.
    item.onSelect();
  }

  button.addEventListener("click", () => (list.hidden ? open(0) : state.close(true)));
  button.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      open(0);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      open(-1);
    }
  });
  list.addEventListener("keydown", (event) => {
    const index = entries.indexOf(document.activeElement);
    const moves = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: entries.length - 1 };
    if (event.key in moves) {
      event.preventDefault();
      entries[(moves[event.key] + entries.length) % entries.length].focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      state.close(true);
    } else if (event.key === "Tab") {
      state.close(false);
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      if (index >= 0) choose(items[index]);
    }
  });
  return { root, button, isOpen: () => !list.hidden };
}
