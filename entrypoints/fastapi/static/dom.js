// A tiny element builder. Text always goes in through text nodes, never through HTML parsing,
// so nothing the API returns can inject markup.

/**
 * h("span", { className: "badge", title: "x" }, "text", childNode)
 * Props: className, dataset (object), hidden, on<Event> handlers; anything else is set as an
 * attribute. null, undefined and false children are skipped.
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "className") element.className = value;
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key === "hidden") element.hidden = Boolean(value);
    else if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2).toLowerCase(), value);
    } else element.setAttribute(key, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else if (child instanceof Node) element.append(child);
    else element.append(document.createTextNode(String(child)));
  }
}

/** Replaces every child of `element`. */
export function replaceChildren(element, ...children) {
  element.replaceChildren();
  append(element, children);
}
