// A confirmation dialog for actions that change tasks, built on the page's <dialog>.

const dialog = document.getElementById("confirm");
const title = document.getElementById("confirm-title");
const text = document.getElementById("confirm-text");
const ok = document.getElementById("confirm-ok");
const back = document.getElementById("confirm-back");

let settle = null;

function finish(answer) {
  if (settle === null) return;
  const resolve = settle;
  settle = null;
  if (dialog.open) dialog.close();
  resolve(answer);
}

ok.addEventListener("click", () => finish(true));
back.addEventListener("click", () => finish(false));
// Escape closes the dialog natively; that is a "no".
dialog.addEventListener("close", () => finish(false));

/**
 * Asks before doing something. Resolves to true when the reader chose the action.
 * @param {{title: string, text: string, action: string, danger?: boolean}} question
 */
export function confirmAction({ title: heading, text: body, action, danger = false }) {
  finish(false);
  title.textContent = heading;
  text.textContent = body;
  ok.textContent = action;
  ok.classList.toggle("btn-danger", danger);
  ok.classList.toggle("btn-primary", !danger);
  return new Promise((resolve) => {
    settle = resolve;
    dialog.showModal();
    back.focus();
  });
}
