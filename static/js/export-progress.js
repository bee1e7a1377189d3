// Updates the export progress bar without reloading the page. Without JavaScript the page
// refreshes itself instead (see the <noscript> refresh in portfolios/job.html).
(function () {
  "use strict";
  var box = document.getElementById("export-job");
  if (!box) { return; }
  var bar = document.getElementById("progress");
  var text = document.getElementById("progress-text");
  var download = document.getElementById("download");
  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        bar.max = state.total;
        bar.value = state.done;
        var template = state.finished ? box.dataset.finished : box.dataset.running;
        text.textContent = template.replace("{done}", state.done).replace("{total}", state.total);
        if (state.finished) {
          if (state.download) { download.hidden = false; }
          var hint = document.getElementById("progress-hint");
          if (hint) { hint.hidden = true; }
          return;
        }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  if (bar.value < bar.max) { window.setTimeout(poll, 1000); }
})();
