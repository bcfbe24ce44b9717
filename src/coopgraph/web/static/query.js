// The query page: Ctrl+Enter (or Cmd+Enter) runs the query; Tab indents instead of leaving the editor.
// Without this script the page works the same through its form.
(function () {
  "use strict";
  var form = document.getElementById("query-form");
  var editor = document.getElementById("query");
  if (!form || !editor) { return; }
  editor.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.submit();
    } else if (event.key === "Tab" && !event.shiftKey) {
      event.preventDefault();
      var start = editor.selectionStart, end = editor.selectionEnd;
      editor.value = editor.value.slice(0, start) + "  " + editor.value.slice(end);
      editor.selectionStart = editor.selectionEnd = start + 2;
    }
  });
  if (!editor.value.trim()) { return; }
  editor.focus();
}());
