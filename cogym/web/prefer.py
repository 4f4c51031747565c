"""A person compares clips in the browser: the preference page and :class:`PersonJudge`.

The page shows the two segments of a query side by side, played in a loop from their trials'
recorded frames, and the person answers with a key or a button: ← left is better, → right is
better, ↓ (or =) equally good, space: can't tell. Each answer is written to the datastore with
:meth:`~cogym.HDF5Datastore.add_preference` (durable when it returns) *before* the page is told
it was saved and before the next query is shown, so an answer the page reports saved survives a
``kill -9`` of the server. A malformed answer (not JSON, unknown fields, a choice that is not
one of the four, the id of a query that is not the one shown, over 4 KiB) is refused with an
error shown on the page, and nothing is stored.

The page is served by the human actors' web server (:mod:`cogym.web.server`): on 127.0.0.1
unless told otherwise, at ``/prefer/<id>?token=...``, with the same token on the page, its
assets and its socket.
"""

from __future__ import annotations

import asyncio
import html
import json
import queue
import secrets
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from cogym.errors import CogymError, InputError, PageMessageError, PageTimeoutError, WebError
from cogym.web.clips import ClipSource, check_frames
from cogym.web.connection import PageConnection
from cogym.web.prefer_protocol import KEYS, MAX_ANSWER_BYTES, PageAnswer, parse_answer
from cogym.web.protocol import pack_frame
from cogym.web.server import WebServer, shared_server

if TYPE_CHECKING:
    from cogym.datastore import HDF5Datastore
    from cogym.datastore.preferences import Preference, Query

__all__ = ["PersonJudge", "PreferencePage"]

POLL_SECONDS = 0.25


class _Batch:
    """The queries of one :meth:`PersonJudge.answer` call, and their answers as they come."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.answers: queue.Queue[Preference | None] = queue.Queue()
        """Each answer as it is stored; ``None`` for a query that could not be shown."""
        self.withdrawn = False


@dataclass(frozen=True)
class _Asked:
    query: Query
    datastore: HDF5Datastore
    batch: _Batch


class PreferencePage:
    """One person's preference page: the queries asked, the one shown, the answers stored.

    Built by :class:`PersonJudge` (through :meth:`WebServer.open_page`); the server calls
    :meth:`attach`, :meth:`detach` and :meth:`receive` from its thread.
    """

    def __init__(
        self,
        page_id: str,
        server: WebServer,
        judge: str,
        *,
        fps: float = 10.0,
        quality: int = 80,
        max_message_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        self.id = page_id
        self.server = server
        self.judge = judge
        self.fps = fps
        self.quality = quality
        self.max_message_bytes = max_message_bytes
        self.token = secrets.token_urlsafe(24)
        self.asked = 0
        self.answered = 0
        self._closed = False
        self._lock = threading.Lock()
        self._answering = threading.Lock()
        self._pending: deque[_Asked] = deque()
        self._current: _Asked | None = None
        self._seen_ids: set[str] = set()
        self._answered_ids: set[str] = set()
        self._connection: PageConnection | None = None
        self._clips: dict[str, ClipSource] = {}

    @property
    def url(self) -> str:
        """The page's address, token included."""
        return f"{self.server.base_url}/prefer/{self.id}?token={self.token}"

    @property
    def closed(self) -> bool:
        return self._closed

    def __repr__(self) -> str:
        return (
            f"PreferencePage({self.server.base_url}/prefer/{self.id}, judge={self.judge!r}, "
            f"answered {self.answered} of {self.asked})"
        )

    # -- the judge's side ------------------------------------------------------------------------

    def ask(self, queries: Sequence[Query], datastore: HDF5Datastore) -> _Batch:
        """Queue ``queries`` (after those asked before); their answers go to the batch returned."""
        batch = _Batch(len(queries))
        with self._lock:
            ids = [q.query_id for q in queries]
            repeated = sorted({i for i in ids if i in self._seen_ids or ids.count(i) > 1})
            if repeated:
                raise InputError(
                    f"query id(s) {', '.join(map(repr, repeated[:5]))} were already asked on this "
                    "page: give each query its own id"
                )
            self._seen_ids.update(ids)
            self._pending.extend(_Asked(q, datastore, batch) for q in queries)
            self.asked += len(queries)
            idle = self._current is None
            if idle:
                self._current = self._pending.popleft() if self._pending else None
        if idle:
            self._show_current()
        else:
            self._send(self._progress("progress"))
        return batch

    def withdraw(self, batch: _Batch) -> None:
        """Forget the queries of ``batch`` that are not answered (its caller stopped waiting)."""
        with self._lock:
            batch.withdrawn = True
            kept = [a for a in self._pending if a.batch is not batch]
            self.asked -= len(self._pending) - len(kept)
            self._pending = deque(kept)
            moved = self._current is not None and self._current.batch is batch
            if moved:
                self.asked -= 1
                self._current = self._pending.popleft() if self._pending else None
        if moved:
            self._show_current()

    def close(self) -> None:
        """The session is over: tell the page, refuse its requests from now on."""
        with self._lock:
            self._closed = True
            connection, self._connection = self._connection, None
        if connection is not None:
            connection.offer_text(json.dumps(self._progress("closed")))
            connection.close()
        self.server.close_page(self)

    # -- the server's side -----------------------------------------------------------------------

    def html(self) -> str:
        page = resources.files("cogym.web").joinpath("static/prefer.html").read_text("utf-8")
        values = {"__TOKEN__": self.token, "__PAGE__": self.id, "__JUDGE__": self.judge}
        for name, value in values.items():
            page = page.replace(name, html.escape(value, quote=True))
        return page

    def attach(self, connection: PageConnection) -> PageConnection | None:
        with self._lock:
            previous, self._connection = self._connection, connection
        connection.offer_text(json.dumps(self._hello()))
        asyncio.get_running_loop().run_in_executor(None, self._show_current)
        return previous

    def detach(self, connection: PageConnection) -> None:
        with self._lock:
            if self._connection is connection:
                self._connection = None

    async def receive(self, raw: str | bytes, connection: PageConnection) -> None:
        try:
            answer = parse_answer(raw, self.max_message_bytes)
        except PageMessageError as exc:
            connection.offer_text(json.dumps({"type": "error", "message": str(exc)}))
            return
        await asyncio.to_thread(self._take, answer, connection)

    def _take(self, answer: PageAnswer, connection: PageConnection) -> None:
        """Store the answer to the query shown, then show the next; or refuse it."""
        from cogym.datastore.preferences import Preference

        with self._answering:
            with self._lock:
                current = self._current
            refusal = self._refusal(answer.query_id, current)
            if refusal is not None or current is None:
                connection.offer_text(json.dumps({"type": "error", "message": refusal}))
                return
            preference = Preference(current.query, answer.answer, self.judge, time.time())
            try:
                current.datastore.add_preference(preference)
            except (CogymError, OSError) as exc:
                message = f"the answer to query {answer.query_id!r} was not stored: {exc}"
                connection.offer_text(json.dumps({"type": "error", "message": message}))
                return
            with self._lock:
                self._answered_ids.add(answer.query_id)
                self.answered += 1
                if self._current is current:
                    self._current = self._pending.popleft() if self._pending else None
                if not current.batch.withdrawn:
                    current.batch.answers.put(preference)
            saved = dict(self._progress("saved"), query_id=answer.query_id, answer=answer.answer)
            self._send(saved)
            self._clip_source(current.datastore).forget((current.query.left, current.query.right))
        self._show_current()

    def _skip(self, skipped: _Asked) -> None:
        """Leave out a query that cannot be shown (its judge yields nothing for it)."""
        with self._lock:
            if self._current is not skipped:
                return
            self.asked -= 1
            self._current = self._pending.popleft() if self._pending else None
            skipped.batch.answers.put(None)

    def _refusal(self, query_id: str, current: _Asked | None) -> str | None:
        if current is not None and current.query.query_id == query_id:
            return None
        shown = "none" if current is None else repr(current.query.query_id)
        if query_id in self._answered_ids:
            return (
                f"query {query_id!r} is already answered (the query shown is {shown}); "
                "nothing stored"
            )
        if current is None:
            return f"no query is waiting for an answer (got one for {query_id!r}); nothing stored"
        return f"unknown query id {query_id!r}: the query shown is {shown}; nothing stored"

    # -- what the page is sent -------------------------------------------------------------------

    def _hello(self) -> dict[str, Any]:
        return dict(self._progress("hello"), judge=self.judge, keys=KEYS, fps=self.fps)

    def _progress(self, kind: str) -> dict[str, Any]:
        return {"type": kind, "answered": self.answered, "asked": self.asked}

    def _send(self, message: dict[str, Any]) -> None:
        with self._lock:
            connection = self._connection
        if connection is not None:
            connection.offer_text(json.dumps(message))

    def _clip_source(self, datastore: HDF5Datastore) -> ClipSource:
        key = str(datastore.path)
        with self._lock:
            source = self._clips.get(key)
            if source is None:
                source = self._clips[key] = ClipSource(datastore, self.quality)
        return source

    def _show_current(self) -> None:
        """Send the query shown, and its clips, to the page (or say there is none yet); a
        query whose clips cannot be read is skipped, with an error on the page."""
        while not self._show_once():
            pass

    def _show_once(self) -> bool:
        """Show the current query; ``False`` if it had to be skipped."""
        with self._lock:
            current, connection = self._current, self._connection
            following = self._pending[0] if self._pending else None
        if connection is None:
            return True
        if current is None:
            connection.offer_text(json.dumps(self._progress("waiting")))
            return True
        query = current.query
        clips = self._clip_source(current.datastore)
        try:
            sides = {"left": clips.frames(query.left), "right": clips.frames(query.right)}
        except (CogymError, OSError) as exc:
            message = f"query {query.query_id!r} cannot be shown and is skipped: {exc}"
            connection.offer_text(json.dumps({"type": "error", "message": message}))
            self._skip(current)
            return False
        message = dict(self._progress("query"), query_id=query.query_id, number=self.answered + 1)
        for side, segment in (("left", query.left), ("right", query.right)):
            message[side] = {
                "trial_id": segment.trial_id,
                "actor": segment.actor,
                "first": segment.first,
                "last": segment.last,
                "frames": len(sides[side]),
            }
        connection.offer_text(json.dumps(message))
        for side, images in sides.items():
            for index, image in enumerate(images):
                header = {
                    "type": "clip",
                    "query_id": query.query_id,
                    "side": side,
                    "index": index,
                    "mime": "image/jpeg",
                }
                connection.offer_binary(pack_frame(header, image))
        if following is not None:  # encode the next clips while the person watches these
            try:
                source = self._clip_source(following.datastore)
                source.frames(following.query.left)
                source.frames(following.query.right)
            except (CogymError, OSError):
                pass  # the next query says why it cannot be shown when it is shown
        return True


class PersonJudge:
    """A person answering preference queries on a web page (interface of
    :class:`cogym.learn.judges.Judge`); ``rlhf(judge="person")`` and ``cogym prefer`` use it.

    The page opens at the first :meth:`answer` (or on :attr:`url`) and stays open, on the same
    URL, until :meth:`close`, so one tab serves every round of questions. ``answer`` yields each
    :class:`~cogym.datastore.preferences.Preference` as the person gives it, already stored in
    the datastore; it waits ``timeout`` seconds at most for each answer (``None``: as long as it
    takes) and raises :class:`~cogym.errors.PageTimeoutError` then.

    >>> judge = PersonJudge(name="ana")                   # doctest: +SKIP
    >>> for preference in judge.answer(queries, datastore):  # doctest: +SKIP
    ...     print(preference.answer)
    >>> judge.close()                                      # doctest: +SKIP
    """

    stores_answers = True
    """Each answer is in the datastore before :meth:`answer` yields it (callers store none)."""
    shows_clips = True
    """The person watches the clips: the trials asked about must record their frames."""

    def __init__(
        self,
        name: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_remote: bool = False,
        fps: float = 10.0,
        timeout: float | None = None,
        show_url: bool = True,
        quality: int = 80,
    ) -> None:
        if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > 64):
            raise InputError(f"judge name {name!r}: give a short non-empty name, e.g. 'ana'")
        if not fps > 0:
            raise InputError(f"fps {fps!r}: the clips' frames per second must be above 0")
        if timeout is not None and not timeout > 0:
            raise InputError(f"timeout {timeout!r}: give seconds above 0, or None to wait always")
        self.judge = "person" if name is None else f"person:{name.strip()}"
        self.host, self.port, self.allow_remote = host, port, allow_remote
        self.fps, self.timeout, self.show_url, self.quality = fps, timeout, show_url, quality
        self._page: PreferencePage | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The page's address (token included); opens the page if it is not open yet."""
        return self._open().url

    @property
    def page(self) -> PreferencePage:
        return self._open()

    def _open(self) -> PreferencePage:
        with self._lock:
            if self._page is None or self._page.closed:
                server = shared_server(self.host, self.port, allow_remote=self.allow_remote)

                def make(page_id: str) -> PreferencePage:
                    return PreferencePage(
                        page_id, server, self.judge, fps=self.fps, quality=self.quality
                    )

                self._page = server.open_page("prefer", make)
                if self.show_url:
                    print(
                        f"cogym: compare clips as {self.judge!r}: open {self._page.url}",
                        file=sys.stderr,
                        flush=True,
                    )
            return self._page

    def answer(
        self, queries: Sequence[Query], datastore: HDF5Datastore | str
    ) -> Iterator[Preference]:
        """Ask the person ``queries`` on the page; yield each answer, stored, as it is given."""
        from cogym.datastore import HDF5Datastore

        store = datastore if isinstance(datastore, HDF5Datastore) else HDF5Datastore(datastore)
        queries = list(queries)
        check_frames(store, [s for q in queries for s in (q.left, q.right)])
        if not queries:
            return
        page = self._open()
        batch = page.ask(queries, store)
        try:
            for given in range(batch.count):
                preference = self._next(page, batch, given)
                if preference is not None:
                    yield preference
        finally:
            page.withdraw(batch)

    def _next(self, page: PreferencePage, batch: _Batch, given: int) -> Preference | None:
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while True:
            try:
                return batch.answers.get(timeout=POLL_SECONDS)
            except queue.Empty:
                pass
            if page.closed:
                raise WebError(
                    f"the preference page was closed after {given} of {batch.count} answers "
                    "(each one given is stored)"
                )
            if deadline is not None and time.monotonic() > deadline:
                raise PageTimeoutError(
                    f"no answer on the preference page within {self.timeout} s ({given} of "
                    f"{batch.count} answered and stored); open {page.url}"
                )

    def close(self) -> None:
        """Close the page (the person is told the session is over)."""
        with self._lock:
            page, self._page = self._page, None
        if page is not None:
            page.close()

    def __enter__(self) -> PersonJudge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self._page.url.split("?")[0] if self._page is not None else "page not opened yet"
        return f"PersonJudge({self.judge!r}, {where})"
