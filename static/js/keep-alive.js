// Typing a long reflection or plan loads no page, yet the person is active: tell the server
// (at most every few minutes) so the idle time-out does not sign them out mid-sentence.
(function () {
  "use strict";
  var script = document.currentScript;
  var url = script && script.dataset.url;
  if (!url || !window.fetch) { return; }
  var every = 4 * 60 * 1000;
  var last = Date.now();
  function ping() {
    if (Date.now() - last < every) { return; }
    last = Date.now();
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": script.dataset.csrf }
    }).catch(function () { last = 0; });
  }
  document.addEventListener("input", ping, { passive: true });
})();
