// Small DOM helpers shared by the panels.

export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`missing element #${id}`);
  return element;
}

/** Show `text` in a message element; kind is "error", "ok" or "info" (styles and test hooks). */
export function showMessage(element, text, kind = "info") {
  element.textContent = text;
  element.dataset.kind = text ? kind : "";
}

export function clearMessage(element) {
  showMessage(element, "");
}
