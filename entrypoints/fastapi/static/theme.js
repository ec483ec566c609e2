// Light/dark theme: the saved choice, else the system preference. Loaded as a classic script
// in <head> so the page never flashes in the wrong theme.
(() => {
  "use strict";

  const KEY = "fastapi-taskflow:theme";
  const root = document.documentElement;
  const systemDark = window.matchMedia("(prefers-color-scheme: dark)");

  function saved() {
    try {
      const value = window.localStorage.getItem(KEY);
      return value === "light" || value === "dark" ? value : null;
    } catch {
      // Storage can be disabled (privacy settings); the system preference still applies.
      return null;
    }
  }

  function apply(theme) {
    root.dataset.theme = theme;
    const button = document.getElementById("theme-toggle");
    if (button) {
      const next = theme === "dark" ? "light" : "dark";
      button.setAttribute("aria-label", `Switch to ${next} theme`);
      button.title = `Switch to ${next} theme`;
    }
  }

  function current() {
    return saved() ?? (systemDark.matches ? "dark" : "light");
  }

  apply(current());

  systemDark.addEventListener("change", () => {
    if (saved() === null) apply(current());
  });

  document.addEventListener("DOMContentLoaded", () => {
    apply(current());
    document.getElementById("theme-toggle")?.addEventListener("click", () => {
      const next = root.dataset.theme === "dark" ? "light" : "dark";
      try {
        window.localStorage.setItem(KEY, next);
      } catch {
        // Not persisted, but the switch still works for this page view.
      }
      apply(next);
    });
  });
})();
