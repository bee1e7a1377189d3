// Typing a long reflection or plan loads no page, yet the person is active: tell the server
// (at most every few minutes) so the idle time-out does not sign them out mid-sentence.
// If the session has already ended (401), say so at once, while the text can still be copied.
(function () {
  "use strict";
  var script = document.currentScript;
  var url = script && script.dataset.url;
  if (!url || !window.fetch) { return; }
  var every = 4 * 60 * 1000;
  var last = 0;
  var warned = false;
  function warn() {
    if (warned) { return; }
    warned = true;
    var notice = document.createElement("p");
    notice.className = "flash flash-error signed-out";
    notice.setAttribute("role", "alert");
    notice.textContent = script.dataset.signedOut;
    var main = document.getElementById("main") || document.body;
    main.insertBefore(notice, main.firstChild);
  }
  function ping() {
    if (warned || Date.now() - last < every) { return; }
    last = Date.now();
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      headers: { "X-CSRFToken": script.dataset.csrf }
    }).then(function (response) {
      if (response.status === 401) { warn(); }
    }).catch(function () { last = 0; });
  }
  document.addEventListener("input", ping, { passive: true });
})();
