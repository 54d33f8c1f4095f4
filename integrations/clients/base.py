"""The shared base of every remote client: session, timeouts, limits, retries, logging."""

import logging
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext
from requests.adapters import HTTPAdapter
from requests.sessions import merge_hooks
from requests.structures import CaseInsensitiveDict
from requests.utils import get_netrc_auth
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from integrations.clients import deadline, limiter
from integrations.clients.errors import AuthError, ConfigurationError, ThrottledError, TransientError

logger = logging.getLogger("integrations.clients")


def retry_wait_scale():
    """Tests set REMOTE_RETRY_WAIT_SCALE = 0 so that retries do not sleep."""
    return settings.REMOTE_RETRY_WAIT_SCALE


class Session(requests.Session):
    """requests' session, reading the proxy environment once per origin instead of on every request (each read
    walks the whole environment twice: a tenth of a detail fetch's CPU)."""

    def __init__(self):
        super().__init__()
        self._environment = {}

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        if proxies or stream is not None or verify is not None or cert is not None:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        origin = (parts.scheme, parts.netloc)
        if origin not in self._environment:
            self._environment[origin] = super().merge_environment_settings(url, {}, None, None, None)
        merged = self._environment[origin]
        return {**merged, "proxies": dict(merged["proxies"])}

    def prepare_request(self, request):
        """requests' own, minus its per-request costs that never change for a client: the netrc file is read once
        per origin (like the proxy environment), and the headers are merged without requests' generic setting
        merge. Anything unusual (cookies, auth, files, session-wide parameters) takes requests' own path."""
        if request.cookies or request.auth or request.files or self.auth or self.params or len(self.cookies):
            return super().prepare_request(request)
        headers = CaseInsensitiveDict(self.headers)
        for name, value in (request.headers or {}).items():
            if value is None:
                headers.pop(name, None)
            else:
                headers[name] = value
        prepared = requests.PreparedRequest()
        prepared.prepare(method=request.method.upper(), url=request.url, data=request.data, json=request.json,
                         headers=headers, params=request.params, auth=self._netrc_auth(request.url),
                         hooks=merge_hooks(request.hooks, self.hooks))
        return prepared

    def _netrc_auth(self, url):
        if not self.trust_env:
            return None
        parts = urlsplit(url)
        key = ("netrc", parts.scheme, parts.netloc)
        if key not in self._environment:
            self._environment[key] = get_netrc_auth(url)
        return self._environment[key]


class HttpClient:
    """Subclasses name their `system`, and parse payloads in `raise_for_response`.

    `request()` is the one door to the network. Failure classes:

    - network error or timeout → `TransientError`, retried;
    - HTTP 5xx, or an empty/non-JSON body → `TransientError`, retried;
    - throttling (HTTP 429 or the remote's own codes) → `ThrottledError`, retried after ≥ 1 s;
    - token or session rejected → `AuthError`; `with_auth_refresh` renews the credential
      once and repeats the call, then lets the error through;
    - monthly quota used up → `QuotaExceededError`, not retried;
    - the remote refused the request (business rule, unknown id) → `BusinessError`, not retried;
    - bad credentials or permissions → `ConfigurationError`, not retried.

    Retries use exponential backoff with jitter (initial 0.5 s, throttling 1 s, max 8 s)
    and stop after `attempts` tries, re-raising the last error.
    """

    system = "remote"
    attempts = 4

    def __init__(self, *, rate_limit=None, max_concurrency=4, connect_timeout=5.0, read_timeout=60.0, name=""):
        self.name = name
        self.rate_limit = rate_limit
        self.timeout = (connect_timeout, read_timeout)
        self.session = Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(4, max_concurrency * 2))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._concurrency = threading.BoundedSemaphore(max(1, max_concurrency))
        self._calls_lock = threading.Lock()
        self.calls = Counter()

    def limiter_key(self, url):
        """Requests sharing a key share one rate budget, across every process; subclasses narrow it."""
        return (self.system, self.name)

    def request(self, method, url, **kwargs):
        try:  # most calls succeed at once: the retry machinery (a sixth of a call's CPU) only after a failure
            return self._send_once(method, url, **kwargs)
        except Exception as error:
            if not getattr(error, "retryable", False) or self.attempts < 2:
                raise
            failed = [error]

        def attempt():
            if failed:  # the first attempt, replayed: tenacity counts it and waits before the second
                raise failed.pop()
            return self._send_once(method, url, **kwargs)

        retrying = Retrying(
            retry=retry_if_exception(lambda exc: getattr(exc, "retryable", False)),
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            reraise=True,
        )
        return retrying(attempt)

    def _wait(self, retry_state):
        error = retry_state.outcome.exception()
        initial = 1.0 if isinstance(error, ThrottledError) else 0.5
        wait = wait_exponential_jitter(multiplier=initial, max=8, jitter=initial)(retry_state) * retry_wait_scale()
        left = deadline.remaining()
        return wait if left is None else max(0.0, min(wait, left))

    def _send_once(self, method, url, **kwargs):
        kwargs["timeout"] = deadline.bounded(kwargs.get("timeout", self.timeout), self.system)
        # The slot comes before the rate-limit token: a token taken while waiting for a slot
        # would send its request late, bunched with the next one.
        with self._concurrency:
            if self.rate_limit:
                limiter.acquire(self.limiter_key(url), self.rate_limit)
            started = time.monotonic()
            try:
                response = self.session.request(method, url, **kwargs)
            except requests.Timeout as exc:
                self._log(method, url, "timeout", started)
                raise TransientError("request timed out", system=self.system) from exc
            except requests.ConnectionError as exc:
                self._log(method, url, "connection error", started)
                raise TransientError("could not connect", system=self.system) from exc
            except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
                message = gettext("The server URL cannot be used: check its host name and port.")
                raise ConfigurationError(message, system=self.system) from exc
        self._count(url)
        self._log(method, url, response.status_code, started)
        return self.raise_for_response(response)

    def raise_for_response(self, response):
        """Return the parsed JSON payload, or raise the right error for this response."""
        if response.status_code == 429:
            raise ThrottledError("too many requests", code=429, system=self.system, http_status=429)
        if response.status_code >= 500:
            raise TransientError(f"server error HTTP {response.status_code}", code=response.status_code,
                                 system=self.system, http_status=response.status_code)
        try:
            return response.json()
        except ValueError as exc:
            raise TransientError("response is not JSON", system=self.system,
                                 http_status=response.status_code) from exc

    def with_auth_refresh(self, call, *args, **kwargs):
        try:
            return call(*args, **kwargs)
        except AuthError:
            self.refresh_auth()
            return call(*args, **kwargs)

    def refresh_auth(self):
        """Drop the cached token or session; the next call obtains a new one."""

    def _count(self, url):
        with self._calls_lock:
            self.calls[urlsplit(url).path] += 1

    def _log(self, method, url, outcome, started):
        if not logger.isEnabledFor(logging.INFO):
            return
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.info("%s %s %s %s %.0fms", self.system, method, urlsplit(url).path, outcome, elapsed_ms)
