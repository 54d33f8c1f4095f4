// The filter sidebar of every list folds away with one button; the choice is kept for the next list.
(function () {
  const script = document.currentScript;
  const KEY = "portal.filters.hidden";
  function setUp() {
    const list = document.getElementById("changelist");
    if (!list || !document.getElementById("changelist-filter")) return;
    const button = document.createElement("button");
    button.type = "button";
    button.id = "filter-toggle";
    button.className = "button";
    function show(hidden) {
      list.classList.toggle("filters-hidden", hidden);
      button.textContent = hidden ? script.dataset.show : script.dataset.hide;
      button.setAttribute("aria-expanded", String(!hidden));
    }
    button.addEventListener("click", function () {
      const hidden = !list.classList.contains("filters-hidden");
      localStorage.setItem(KEY, hidden ? "1" : "");
      show(hidden);
    });
    list.querySelector(".changelist-form-container").prepend(button);
    show(localStorage.getItem(KEY) === "1");
  }
  document.addEventListener("DOMContentLoaded", setUp);
})();
