// The invitation's token rides in the link's fragment, which browsers never send to a server:
// it stays out of access logs, proxies and Referer headers. Post it, then forget it.
(function () {
  var token = window.location.hash.slice(1);
  var form = document.getElementById("invitation-form");
  if (!token || !form) return;
  history.replaceState(null, "", window.location.pathname);
  form.elements.token.value = decodeURIComponent(token);
  form.submit();
})();
