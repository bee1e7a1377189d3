// Keep a half-typed text if the phone drops the connection (on the wards it does): every
// long text field (textarea) of a form that posts is copied to this browser's localStorage as
// it is typed, per signed-in person, page and form, and put back when the page is opened
// again and the field is empty. After a successful send (the next page shows a message from
// the server) the copy is deleted; signing out deletes all of the person's copies. Drafts
// older than a week are dropped. Not loaded on patient pages (shared devices: see README).
(function () {
  "use strict";
  var script = document.currentScript;
  var user = script && script.dataset.user;
  if (!user || !window.localStorage || !window.sessionStorage) { return; }
  var prefix = "clerkship-draft:" + user + ":";
  var sentKey = "clerkship-draft-sent";
  var week = 7 * 24 * 3600 * 1000;

  function safely(action) {
    try { return action(); } catch (error) { return null; } // storage full or disabled
  }
  function keyOf(form, field) {
    var action = new URL(form.getAttribute("action") || window.location.pathname, window.location.href);
    return prefix + window.location.pathname + "|" + action.pathname + "|" + field.name;
  }
  function fields(form) {
    return Array.prototype.filter.call(form.querySelectorAll("textarea[name]"), function (f) {
      return !f.disabled && !f.readOnly;
    });
  }
  function ownKeys() {
    var keys = [];
    for (var i = 0; i < localStorage.length; i++) {
      var key = localStorage.key(i);
      if (key && key.indexOf(prefix) === 0) { keys.push(key); }
    }
    return keys;
  }

  // The page after a send: a message from the server means it was taken.
  var sent = safely(function () { return JSON.parse(sessionStorage.getItem(sentKey) || "[]"); }) || [];
  safely(function () { sessionStorage.removeItem(sentKey); });
  if (sent.length && document.querySelector(".flash-success, .flash-info")) {
    sent.forEach(function (key) { safely(function () { localStorage.removeItem(key); }); });
  }
  ownKeys().forEach(function (key) {
    var saved = safely(function () { return JSON.parse(localStorage.getItem(key)); });
    if (!saved || Date.now() - saved.at > week) { safely(function () { localStorage.removeItem(key); }); }
  });

  Array.prototype.forEach.call(document.querySelectorAll("form"), function (form) {
    var action = form.getAttribute("action") || "";
    if (/\/sign-out$/.test(action)) {
      form.addEventListener("submit", function () {
        ownKeys().forEach(function (key) { safely(function () { localStorage.removeItem(key); }); });
      });
      return;
    }
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post") { return; }
    var mine = fields(form);
    if (!mine.length) { return; }
    var restored = false;
    mine.forEach(function (field) {
      var key = keyOf(form, field);
      var saved = safely(function () { return JSON.parse(localStorage.getItem(key)); });
      if (saved && saved.text && !field.value.trim()) {
        field.value = saved.text;
        restored = true;
      }
      var timer = null;
      field.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () {
          safely(function () {
            if (field.value.trim()) {
              localStorage.setItem(key, JSON.stringify({ text: field.value, at: Date.now() }));
            } else {
              localStorage.removeItem(key);
            }
          });
        }, 300);
      });
    });
    if (restored && script.dataset.restored) {
      var note = document.createElement("p");
      note.className = "hint draft-restored";
      note.setAttribute("role", "status");
      note.textContent = script.dataset.restored;
      form.insertBefore(note, form.firstChild);
    }
    form.addEventListener("submit", function () {
      var keys = mine.map(function (field) { return keyOf(form, field); });
      safely(function () {
        var pending = JSON.parse(sessionStorage.getItem(sentKey) || "[]").concat(keys);
        sessionStorage.setItem(sentKey, JSON.stringify(pending));
      });
    });
  });
})();
