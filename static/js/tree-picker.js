// Tree pickers (goals, assessments, evidence): the search box filters the tree as one types.
// The same rule as the server's (clerkship/picker.py), which serves browsers without
// JavaScript through the box's Search button: a node shows when its label holds every word
// (case and accents ignored), when an ancestor or a descendant does, or when it is ticked.
// With this script the button is not needed, so it is taken out and Enter in the box does
// not send the form.
(function () {
  "use strict";

  function folded(text) {
    return text.toLocaleLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
  }

  function childItems(list) {
    return list ? Array.prototype.filter.call(list.children, function (el) { return el.tagName === "LI"; }) : [];
  }

  function matches(el, wanted) {
    var text = folded(el.dataset.label || "");
    return wanted.every(function (word) { return text.indexOf(word) !== -1; });
  }

  // Shows or hides one node and its subtree; returns how many of them show.
  function filter(item, wanted, ancestorMatched) {
    var here = ancestorMatched || matches(item, wanted);
    var shownBelow = 0;
    childItems(item.querySelector(":scope > ul")).forEach(function (child) {
      shownBelow += filter(child, wanted, here);
    });
    var box = item.querySelector(":scope > label input");
    var show = here || shownBelow > 0 || (box && box.checked);
    item.hidden = !show;
    return show ? shownBelow + 1 : 0;
  }

  function setUp(picker) {
    var box = picker.querySelector(".picker-search input");
    var button = picker.querySelector(".picker-search-button");
    var status = picker.querySelector(".picker-status");
    if (!box) { return; }
    if (button) { button.remove(); }
    var total = picker.querySelectorAll(".tree li").length;

    function run() {
      var wanted = folded(box.value).split(/\s+/).filter(Boolean);
      var shown = 0;
      picker.querySelectorAll(".tree-group").forEach(function (group) {
        var groupMatched = wanted.length > 0 && matches(group, wanted);
        var inGroup = 0;
        childItems(group.querySelector(":scope > ul")).forEach(function (item) {
          inGroup += filter(item, wanted, groupMatched || wanted.length === 0);
        });
        group.hidden = inGroup === 0;
        shown += inGroup;
      });
      if (!wanted.length) {
        status.textContent = "";
      } else if (shown) {
        status.textContent = picker.dataset.shown.replace("{shown}", shown).replace("{total}", total);
      } else {
        status.textContent = picker.dataset.none;
      }
    }

    var pending = null;
    box.addEventListener("input", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(run, 120);
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); run(); }
    });
    run();
  }

  function start() {
    document.querySelectorAll(".tree-picker").forEach(setUp);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
