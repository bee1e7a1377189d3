// SAML pages that only pass the browser on (templates/sso/saml_relay.html, saml_logout.html).
document.addEventListener("DOMContentLoaded", function () {
  // The school's sign-in answer arrived without our session cookie (a cross-site POST):
  // post it again from this page, which is ours, so the cookie comes along.
  var form = document.getElementById("saml-relay");
  if (form) {
    form.submit();
  }
  // Signed out here: go on to the school's sign-out. A link, not a redirect from the sign-out
  // form, because the Content-Security-Policy (form-action 'self') stops a form's redirect
  // to another site.
  var link = document.getElementById("saml-continue");
  if (link) {
    window.location.replace(link.href);
  }
});
