// Small behaviours of the provider and connection pages (no inline scripts: the CSP forbids them).
(function () {
  "use strict";

  function flash(message, category) {
    document.body.dispatchEvent(new CustomEvent("flash", {detail: {message: message, category: category}}));
  }

  document.addEventListener("DOMContentLoaded", function () {
    // "Fetch models" fills a pick-list; choosing from it fills the model field.
    document.body.addEventListener("change", function (event) {
      var pick = event.target.closest ? event.target.closest("select[data-fills]") : null;
      if (!pick || !pick.value) return;
      var input = document.getElementById(pick.dataset.fills);
      if (input) {
        input.value = pick.value;
        input.dispatchEvent(new Event("input", {bubbles: true}));
      }
    });

    // HTMX does not swap 4xx/5xx answers; show their message instead of failing silently.
    document.body.addEventListener("htmx:responseError", function (event) {
      var xhr = event.detail.xhr;
      var text = "The action failed (HTTP " + xhr.status + ").";
      try {
        var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var p = doc.querySelector(".error-block p");
        if (p) text = p.textContent;
      } catch (e) { /* keep the generic text */ }
      flash(text, "error");
    });
    document.body.addEventListener("htmx:sendError", function () {
      flash("The server could not be reached.", "error");
    });
  });
})();
