// Menu button, keyboard as in the WAI-ARIA Authoring Practices' "menu button" pattern, over
// markup the page already holds (a .menu-wrap with its button and [role=menu] list). Entries
// that are hidden do not count: a row shows the ones its candidate's state allows.

let openMenu = null;

document.addEventListener("pointerdown", (event) => {
  if (openMenu && !openMenu.root.contains(event.target)) openMenu.close(false);
});

// onChoose(action): the chosen entry's data-action.
export function bindMenu(root, onChoose) {
  const button = root.querySelector(".menu-button");
  const list = root.querySelector("[role=menu]");
  const entries = () => [...list.querySelectorAll("[role=menuitem]")].filter((e) => !e.hidden);

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
    const shown = entries();
    if (!shown.length) return;
    if (openMenu && openMenu !== state) openMenu.close(false);
    list.hidden = false;
    button.setAttribute("aria-expanded", "true");
    openMenu = state;
    shown[(focusIndex + shown.length) % shown.length].focus();
  }

  function choose(entry) {
    state.close(true);
    // After the focus is back on the button, so the dialog returns it there too.
    onChoose(entry.dataset.action);
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
  list.addEventListener("click", (event) => {
    const entry = event.target.closest("[role=menuitem]");
    if (entry && !entry.hidden) choose(entry);
  });
  list.addEventListener("keydown", (event) => {
    const shown = entries();
    const index = shown.indexOf(document.activeElement);
    const moves = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: shown.length - 1 };
    if (event.key in moves) {
      event.preventDefault();
      shown[(moves[event.key] + shown.length) % shown.length].focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      state.close(true);
    } else if (event.key === "Tab") {
      state.close(false);
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      if (index >= 0) choose(shown[index]);
    }
  });
  return { button, isOpen: () => !list.hidden, close: state.close };
}
