// Drag-to-reorder for lists marked data-sortable-reorder="<url>": dropping a row posts the
// new order of data-id values at once; the server answers the refreshed rows (HTMX style).
(function () {
  "use strict";

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function flash(message, category) {
    document.body.dispatchEvent(new CustomEvent("flash", {detail: {message: message, category: category}}));
  }

  function flashFromTrigger(response) {
    var header = response.headers.get("HX-Trigger");
    if (!header) return;
    try {
      var detail = JSON.parse(header).flash;
      if (detail) flash(detail.message, detail.category);
    } catch (e) { /* not JSON: nothing to show */ }
  }

  function errorText(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var p = doc.querySelector(".error-block p, p");
    return p ? p.textContent : "The new order was not saved.";
  }

  function init(list) {
    if (list.dataset.sortableReady || typeof Sortable === "undefined") return;
    list.dataset.sortableReady = "1";
    var before = null;
    var sortable = Sortable.create(list, {
      handle: ".drag-handle",
      draggable: "tr",
      animation: 150,
      onStart: function () { before = sortable.toArray(); },
      onEnd: function (event) {
        if (event.oldIndex === event.newIndex) return;
        var body = new URLSearchParams();
        sortable.toArray().forEach(function (id) { body.append("ids", id); });
        list.setAttribute("aria-busy", "true");
        fetch(list.dataset.sortableReorder, {
          method: "POST",
          credentials: "same-origin",
          headers: {"X-CSRFToken": csrfToken(), "HX-Request": "true",
                    "Content-Type": "application/x-www-form-urlencoded"},
          body: body
        }).then(function (response) {
          return response.text().then(function (html) {
            list.removeAttribute("aria-busy");
            if (!response.ok) {
              sortable.sort(before, true);
              flash(errorText(html), "error");
              return;
            }
            var holder = document.createElement("tbody");
            list.replaceWith(holder);
            holder.outerHTML = html;
            var fresh = document.getElementById(list.id);
            if (fresh) {
              if (window.htmx) window.htmx.process(fresh);
              init(fresh);
            }
            flashFromTrigger(response);
          });
        }).catch(function () {
          list.removeAttribute("aria-busy");
          sortable.sort(before, true);
          flash("The new order was not saved: the server could not be reached.", "error");
        });
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-sortable-reorder]").forEach(init);
  });
})();
