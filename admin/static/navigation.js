// "Revenir à la page précédente" links: go back in history when there is somewhere to go.
// Kept in a file: the Content-Security-Policy forbids inline scripts and javascript: links.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("a[data-back]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (window.history.length > 1) {
        event.preventDefault();
        window.history.back();
      }
    });
  });
});
