// App key result page: copy the new key to the clipboard.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-copy-target"));
      var status = document.getElementById("copy-status");
      if (!input) return;
      input.select();
      var done = function () { if (status) status.textContent = "Copied to the clipboard."; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () {
          if (status) status.textContent = "Select the key and copy it with Ctrl+C (⌘C).";
        });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });
});
