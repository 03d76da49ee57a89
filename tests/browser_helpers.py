"""Headless Chromium for the real-browser tests, driven over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: JSON messages separated by NUL bytes on the child's fds 3 and 4), so
nothing but Debian's ``chromium`` and the standard library is needed. Importable as
``browser_helpers`` (tests/ is on sys.path)."""
from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from typing import Optional

CHROMIUM_NAMES = ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable')
CHROMIUM_FLAGS = ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
                  '--no-first-run', '--disable-background-networking',
                  '--disable-component-update', '--disable-sync', '--hide-scrollbars',
                  '--mute-audio')


def find_chromium() -> Optional[str]:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class BrowserError(RuntimeError):
    pass


class Chromium:
    """One headless Chromium with a fresh profile; ``with Chromium() as browser: page =
    browser.new_page(...)``."""

    def __init__(self, binary: Optional[str] = None, timeout: float = 30.0):
        self.binary = binary or find_chromium()
        if self.binary is None:
            raise BrowserError('no Chromium found')
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix='mmhaze_chromium_')
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def fds_3_and_4():  # the DevTools pipe's fixed descriptors in the child
            # Moved above 10 first (one of them may be 3 or 4 already); dup2 then makes the
            # copies inheritable, which the pipes' own descriptors are not.
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_child_r, from_child_w)]
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        # close_fds=False: subprocess would close 3 and 4 after preexec_fn; the parent's other
        # descriptors are close-on-exec (PEP 446) and do not reach Chromium either way.
        self.process = subprocess.Popen(
            [self.binary, *CHROMIUM_FLAGS, f'--user-data-dir={self.profile}',
             '--remote-debugging-pipe', 'about:blank'],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=fds_3_and_4)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b''
        self._next_id = 0

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, method: str, params: Optional[dict] = None,
             session: Optional[str] = None, timeout: Optional[float] = None) -> dict:
        """Send one command and return its result (events in between are dropped)."""
        self._next_id += 1
        message = dict(id=self._next_id, method=method, params=params or {})
        if session:
            message['sessionId'] = session
        os.write(self._to_child, json.dumps(message).encode() + b'\0')
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            reply = self._read(deadline)
            if reply.get('id') == self._next_id:
                if 'error' in reply:
                    raise BrowserError(f'{method}: {reply["error"]}')
                return reply.get('result', {})

    def _read(self, deadline: float) -> dict:
        while b'\0' not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError('Chromium did not answer in time')
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    raise BrowserError('Chromium closed the DevTools pipe')
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b'\0', 1)
        return json.loads(line)

    def new_page(self, width: int = 1280, height: int = 900) -> Page:
        target = self.send('Target.createTarget', dict(url='about:blank'))['targetId']
        session = self.send('Target.attachToTarget', dict(targetId=target,
                                                          flatten=True))['sessionId']
        page = Page(self, session)
        page.send('Page.enable')
        page.send('Emulation.setDeviceMetricsOverride', dict(
            width=width, height=height, deviceScaleFactor=1, mobile=False))
        return page

    def close(self) -> None:
        try:
            if self.process.poll() is None:
                self.send('Browser.close', timeout=5)
                self.process.wait(timeout=10)
        except Exception:
            self.process.kill()
            self.process.wait()
        finally:
            for fd in (self._to_child, self._from_child):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    """One tab of a :class:`Chromium`."""

    def __init__(self, browser: Chromium, session: str):
        self.browser, self.session = browser, session

    def send(self, method: str, params: Optional[dict] = None,
             timeout: Optional[float] = None) -> dict:
        return self.browser.send(method, params, self.session, timeout)

    def goto(self, url: str) -> None:
        reply = self.send('Page.navigate', dict(url=url))
        if reply.get('errorText'):
            raise BrowserError(f'{url}: {reply["errorText"]}')

    def evaluate(self, expression: str, timeout: Optional[float] = None):
        """The value of a JavaScript expression (a promise is awaited)."""
        reply = self.send('Runtime.evaluate', dict(expression=expression, awaitPromise=True,
                                                   returnByValue=True), timeout)
        if 'exceptionDetails' in reply:
            details = reply['exceptionDetails']
            text = details.get('exception', {}).get('description') or details.get('text')
            raise BrowserError(f'JavaScript error: {text}')
        return reply['result'].get('value')

    def wait_for(self, expression: str, timeout: float = 30.0, interval: float = 0.25):
        """Poll until the expression is truthy; its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f'timed out after {timeout:.0f} s waiting for {expression}')
            time.sleep(interval)

    def dom(self) -> str:
        """The rendered DOM (what ``--dump-dom`` prints)."""
        return self.evaluate('document.documentElement.outerHTML')

    def screenshot(self, path: Optional[str] = None, full_page: bool = False) -> bytes:
        params = dict(format='png')
        if full_page:
            params['captureBeyondViewport'] = True
            size = self.evaluate('[document.documentElement.scrollWidth, '
                                 'document.documentElement.scrollHeight]')
            params['clip'] = dict(x=0, y=0, width=size[0], height=size[1], scale=1)
        data = base64.b64decode(self.send('Page.captureScreenshot', params, timeout=60)['data'])
        if path:
            with open(path, 'wb') as f:
                f.write(data)
        return data
