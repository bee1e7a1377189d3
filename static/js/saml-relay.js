// The school's sign-in answer arrived without our session cookie (a cross-site POST):
// post it again from this page, which is ours, so the cookie comes along.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("saml-relay");
  if (form) {
    form.submit();
  }
});
