// Parameter editors (integrations/admin/params.py): show the inputs of the option chosen in the select
// they follow — a scheme's source or target kind, a mapping row's transform.
(function () {
  "use strict";

  function switchOf(editor) {
    const name = editor.dataset.switch;
    const row = editor.closest("tr, .inline-related");
    if (row) {
      const local = row.querySelector('select[name$="-' + name + '"]');
      if (local) {
        return local;
      }
    }
    const form = editor.closest("form");
    return form ? form.elements[name] : null;
  }

  function sync() {
    document.querySelectorAll(".params-editor").forEach(function (editor) {
      const select = switchOf(editor);
      const key = select ? select.value : editor.dataset.active;
      editor.querySelectorAll(".params-group").forEach(function (group) {
        group.hidden = group.dataset.key !== key;
      });
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.tagName === "SELECT") {
      sync();
    }
  });
  document.addEventListener("formset:added", sync);
  document.addEventListener("DOMContentLoaded", sync);
})();
