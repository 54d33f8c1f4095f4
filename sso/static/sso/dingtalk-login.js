/* The DingTalk workbench page: get a one-time auth code from dingtalk-jsapi and post it to the login door.
   Outside DingTalk there is no code to get, so the browser goes to DingTalk's web login instead. */
(function () {
  "use strict";
  var root = document.getElementById("sso");
  var form = document.getElementById("sso-form");
  var dd = window.dd;
  var corpId = root.getAttribute("data-corp-id");
  var clientId = root.getAttribute("data-client-id");
  var sent = false;

  function submit(result) {
    var code = result && (result.code || result.authCode);
    if (!code) return failed();
    if (sent) return; // a code is single-use: never post it twice
    sent = true;
    form.elements.code.value = code;
    form.submit();
  }

  function failed() {
    document.getElementById("sso-status").hidden = true;
    document.getElementById("sso-failed").hidden = false;
  }

  function legacyRequest() {
    // Clients before 7.0.45 only know the old name, which must wait for dd.ready.
    if (!dd.runtime || !dd.runtime.permission) return failed();
    dd.ready(function () {
      dd.runtime.permission.requestAuthCode({ corpId: corpId, onSuccess: submit, onFail: failed });
    });
  }

  if (!dd || (dd.env && dd.env.platform === "notInDingTalk")) {
    window.location.replace(root.getAttribute("data-oauth-url"));
    return;
  }
  if (typeof dd.requestAuthCode === "function") {
    dd.requestAuthCode({ corpId: corpId, clientId: clientId, onSuccess: submit, onFail: legacyRequest });
  } else {
    legacyRequest();
  }
})();
