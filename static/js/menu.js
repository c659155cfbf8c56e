// Menu buttons, keyboard as in the WAI-ARIA Authoring Practices' "menu button" pattern, over
// markup the page already holds: each .menu-wrap has its .menu-button and [role=menu] list.
// One set of listeners on a container serves every menu inside it, however many rows come
// and go. Hidden entries do not count: a row shows the ones its candidate's state allows.

let openMenu = null; // the .menu-wrap whose list is shown

const parts = (wrap) => ({ button: wrap.querySelector(".menu-button"), list: wrap.querySelector("[role=menu]") });
const entries = (wrap) => [...parts(wrap).list.querySelectorAll("[role=menuitem]")].filter((e) => !e.hidden);

function close(wrap, returnFocus = true) {
  const { button, list } = parts(wrap);
  list.hidden = true;
  button.setAttribute("aria-expanded", "false");
  if (openMenu === wrap) openMenu = null;
  if (returnFocus) button.focus();
}

function open(wrap, focusIndex = 0) {
  const shown = entries(wrap);
  if (!shown.length) return;
  if (openMenu && openMenu !== wrap) close(openMenu, false);
  const { button, list } = parts(wrap);
  list.hidden = false;
  button.setAttribute("aria-expanded", "true");
  openMenu = wrap;
  shown[(focusIndex + shown.length) % shown.length].focus();
}

export const isOpen = (wrap) => !parts(wrap).list.hidden;

document.addEventListener("pointerdown", (event) => {
  if (openMenu && !openMenu.contains(event.target)) close(openMenu, false);
});

// onChoose(action, wrap): the chosen entry's data-action, after the focus is back on the
// button (so that a dialog it opens returns the focus there too).
export function menus(container, onChoose) {
  const choose = (wrap, entry) => {
    close(wrap, true);
    onChoose(entry.dataset.action, wrap);
  };
  container.addEventListener("click", (event) => {
    const wrap = event.target.closest(".menu-wrap");
    if (!wrap) return;
    const entry = event.target.closest("[role=menuitem]");
    if (entry && !entry.hidden) choose(wrap, entry);
    else if (event.target.closest(".menu-button")) {
      if (isOpen(wrap)) close(wrap, true);
      else open(wrap, 0);
    }
  });
  container.addEventListener("keydown", (event) => {
    const wrap = event.target.closest(".menu-wrap");
    if (!wrap) return;
    if (event.target.closest(".menu-button")) {
      if (event.key === "ArrowDown" || event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        open(wrap, 0);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        open(wrap, -1);
      }
      return;
    }
    const shown = entries(wrap);
    const index = shown.indexOf(document.activeElement);
    if (index < 0) return;
    const moves = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: shown.length - 1 };
    if (event.key in moves) {
      event.preventDefault();
      shown[(moves[event.key] + shown.length) % shown.length].focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      close(wrap, true);
    } else if (event.key === "Tab") {
      close(wrap, false);
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      choose(wrap, shown[index]);
    }
  });
}
