/* DingTalk sandbox: stand-in for the JSAPI of the DingTalk container (npm dingtalk-jsapi).
   Load it after the dingtalk-jsapi bundle, in the sandbox only. Who is "logged in" comes from the
   page URL's dd_sandbox_userid parameter or the dd_sandbox_userid cookie set by the sandbox's
   DingTalk client page; codes come from the sandbox and are single use, valid five minutes. */
(function () {
  "use strict";
  var AUTHCODE_URL = "{{ authcode_url|escapejs }}";
  var NAME = "dd_sandbox_userid";

  function loggedIn() {
    var query = new RegExp("[?&]" + NAME + "=([^&#]*)").exec(window.location.search);
    if (query) { return decodeURIComponent(query[1]); }
    var cookie = new RegExp("(?:^|; )" + NAME + "=([^;]*)").exec(document.cookie);
    return cookie ? decodeURIComponent(cookie[1]) : "";
  }

  var userid = loggedIn();

  function requestCode(options) {
    if (!userid) {
      return Promise.reject({errorCode: "3", errorMessage: "不在钉钉客户端内（沙箱：未选择员工）"});
    }
    var url = AUTHCODE_URL + "?userid=" + encodeURIComponent(userid) +
      "&corpId=" + encodeURIComponent(options.corpId || "") + "&clientId=" + encodeURIComponent(options.clientId || "");
    return fetch(url, {credentials: "omit"}).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok || !body.code) { throw body; }
        return {code: body.code};
      });
    });
  }

  function requestAuthCode(options) {
    options = options || {};
    var promise = requestCode(options);
    promise.then(function (result) {
      if (options.onSuccess) { options.onSuccess(result); }
    }, function (error) {
      if (options.onFail) { options.onFail(error); }
    });
    return promise;
  }

  // The bundle's module object may be frozen: build a new dd on top of it instead of patching it.
  var real = window.dd || {};
  var dd = window.dd = Object.assign({}, real);
  dd.env = Object.assign({}, real.env || {}, {platform: userid ? "pc" : "notInDingTalk"});
  dd.sandbox = {userid: userid};
  dd.ready = function (callback) { setTimeout(callback, 0); };
  dd.error = function (callback) { dd.sandbox.onError = callback; };
  dd.config = function () {};
  dd.requestAuthCode = requestAuthCode;
  dd.runtime = Object.assign({}, real.runtime || {});
  dd.runtime.permission = Object.assign({}, (real.runtime || {}).permission || {}, {requestAuthCode: requestAuthCode});
  // Mini-program spelling, for completeness: {authCode} through success/fail.
  dd.getAuthCode = function (options) {
    options = options || {};
    return requestCode(options).then(function (result) {
      var answer = {authCode: result.code};
      if (options.success) { options.success(answer); }
      return answer;
    }, function (error) {
      if (options.fail) { options.fail(error); }
      throw error;
    });
  };
}());
