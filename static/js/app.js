// Behaviour the pages share. No inline scripts: the Content-Security-Policy forbids them.
document.addEventListener("DOMContentLoaded", function () {
  // Flash messages sent by HTMX actions arrive in the HX-Trigger header as {"flash": {...}}.
  document.body.addEventListener("flash", function (event) {
    var box = document.getElementById("flash-messages");
    if (!box || !event.detail) return;
    var p = document.createElement("p");
    p.className = "flash flash-" + (event.detail.category || "info");
    p.setAttribute("role", "status");
    p.textContent = event.detail.message || "";
    box.replaceChildren(p);
  });
});
