"""The Bot API's HTTP client: python-telegram-bot's networking backend on an aiohttp pool.

PTB lets a bot bring its own backend (`telegram.request.BaseRequest`). Its default, httpx on
httpcore, scans every pooled connection for every queued request; with hundreds of replies
in flight that scan took most of the server's time. aiohttp's connector hands a request a
free connection without it.
"""

from __future__ import annotations

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    """One aiohttp session with a pool of `connections` keep-alive connections."""

    def __init__(self, *, connections: int = 64, timeout: float = 10.0) -> None:
        self._connections, self._timeout = connections, timeout
        self._session: aiohttp.ClientSession | None = None
        self._headers = {"User-Agent": self.USER_AGENT,
                         "Content-Type": "application/x-www-form-urlencoded"}

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout in seconds."""
        return self._timeout

    async def initialize(self) -> None:
        """Open the session (inside the running event loop)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                timeout=aiohttp.ClientTimeout(total=None, connect=self._timeout,
                                              sock_read=self._timeout))

    async def shutdown(self) -> None:
        """Close the session and its connections; safe to call twice."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | None | object = BaseRequest.DEFAULT_NONE,
        write_timeout: float | None | object = BaseRequest.DEFAULT_NONE,
        connect_timeout: float | None | object = BaseRequest.DEFAULT_NONE,
        pool_timeout: float | None | object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One request; PTB turns the status and body into a result or its own error."""
        if self._session is None or self._session.closed:
            raise RuntimeError("this AiohttpRequest is not initialized")
        if request_data is not None and request_data.contains_files:
            raise NetworkError("sending files is not supported")  # Stemme sends none
        read = read_timeout if isinstance(read_timeout, int | float) else self._timeout
        try:
            # URL-encoded, as PTB's own backend sends it; a dict would make aiohttp build a
            # multipart writer per request.
            async with self._session.request(
                method, url, headers=self._headers,
                data=request_data.url_encoded_parameters() if request_data else None,
                timeout=aiohttp.ClientTimeout(total=None, connect=self._timeout,
                                              sock_read=read),
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err
