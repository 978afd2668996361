"""Digest processes served from the worker's event loop: no threads of their own in the worker.

``concurrent.futures.ProcessPoolExecutor`` hands calls over through two threads in the calling process (a
queue feeder that pickles and writes the calls, a manager that reads and unpickles the answers), and
each wakes the event loop from outside. In the worker those threads took the interpreter lock in turn
with the main thread and Faust's consumer thread, and every lock hand-over is time the main thread
waits (docs/performance.md, eleventh round). Here each process has a socket pair to the worker: the
worker writes a call and reads its answer on its own event loop (a transport and a protocol), in the
thread that applies the batches anyway. A process answers its calls in the order they were sent.

A process whose socket closes (it died) fails the calls it had (``ProcessGone``) and is replaced; a
process whose worker ends, however it ends, reads end-of-file and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import multiprocessing
import os
import pickle
import signal
import socket
import struct
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!Q")
"""Each message: its length, then its pickle."""
SOCKET_BUFFER_BYTES = 4 * 1024 * 1024
"""Each socket's send buffer (the kernel caps it at ``net.core.wmem_max``): a fetch's records then leave in
one write, instead of sitting in the event loop's transport, which moves its remaining bytes after each
partial write (a fetch of 1.7 MB took eight)."""
_READY = None
"""The call a process answers with its pid: ``start`` waits for it, so the first batch does not wait for
imports."""


class ProcessGone(Exception):
    """The digest process ended before answering (it was killed, or crashed)."""


class CallFailed(Exception):
    """The call raised in the digest process (its message is the error's)."""


def serve(sock: socket.socket, handler: Callable[..., Any]) -> None:
    """A digest process's loop: each call's arguments in, ``(True, handler(*args))`` or ``(False, error)``
    out, until the worker's end closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the process group: the worker stops us
    with sock:
        while True:
            header = _receive(sock, _HEADER.size)
            payload = _receive(sock, _HEADER.unpack(header)[0]) if header is not None else None
            if payload is None:  # the worker closed its end or ended
                return
            call = pickle.loads(payload)  # noqa: S301 - a socket pair between the worker and its own child
            try:
                answer = (True, os.getpid() if call is _READY else handler(*call))
            except Exception as error:  # a bug in the handler: the worker does the call itself
                answer = (False, f"{type(error).__name__}: {error}")
            try:
                sock.sendall(_frame(answer))
            except OSError:  # the worker is gone
                return


def _receive(sock: socket.socket, size: int) -> bytearray | None:
    """Exactly ``size`` bytes, or ``None`` at end-of-file (read into one buffer: a call is megabytes)."""
    buffer = bytearray(size)
    with memoryview(buffer) as view:
        got = 0
        while got < size:
            n = sock.recv_into(view[got:])
            if n == 0:
                return None
            got += n
    return buffer


def _frame(value: Any) -> memoryview:
    # Pickled behind room for its header, which is filled in after: a call carries a fetch's records
    # (megabytes at volume), and joining a header to them would copy them once more.
    out = io.BytesIO()
    out.write(bytes(_HEADER.size))
    pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    frame = out.getbuffer()
    _HEADER.pack_into(frame, 0, len(frame) - _HEADER.size)
    return frame


class _Answers(asyncio.Protocol):
    """The worker's end of one process's socket: answers matched to calls in order."""

    def __init__(self, on_lost: Callable[[_Answers], None]) -> None:
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._on_lost = on_lost

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        start = 0
        with memoryview(buffer) as view:  # released before the buffer is trimmed
            while len(buffer) - start >= _HEADER.size:
                (size,) = _HEADER.unpack_from(view, start)
                end = start + _HEADER.size + size
                if len(buffer) < end:
                    break
                ok, value = pickle.loads(view[start + _HEADER.size:end])  # noqa: S301 - as in serve
                start = end
                future = self.waiting.popleft()
                if not future.done():
                    future.set_result(value) if ok else future.set_exception(CallFailed(value))
        if start:
            del buffer[:start]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(ProcessGone("the digest process ended"))
        self._on_lost(self)

    def call(self, args: Any) -> asyncio.Future[Any]:
        future = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieved)
        if self.transport is None or self.transport.is_closing():
            future.set_exception(ProcessGone("the digest process ended"))
            return future
        self.waiting.append(future)
        self.transport.write(_frame(args))
        return future


class DigestPool:
    """``size`` processes running ``handler``; ``call`` sends one call to the least busy. A process that
    ends is replaced."""

    def __init__(self, size: int, handler: Callable[..., Any]) -> None:
        self.size = size
        self._handler = handler
        self._context = multiprocessing.get_context("spawn")  # the worker has threads: never fork it
        self._live: dict[_Answers, multiprocessing.process.BaseProcess] = {}
        self._starting: set[asyncio.Task[Any]] = set()
        self._stopped = False

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._live.values() if p.pid is not None]

    async def start(self) -> list[int]:
        """Start every process and wait until each answers: the pids that did."""
        answers = await asyncio.gather(*(self._spawn() for _ in range(self.size)))
        pids = await asyncio.gather(*(a.call(_READY) for a in answers), return_exceptions=True)
        return [pid for pid in pids if isinstance(pid, int)]

    def call(self, *args: Any) -> asyncio.Future[Any] | None:
        """The answer on its way, or ``None`` when no process is running (the caller does the work)."""
        if self._stopped or not self._live:
            return None
        answers = min(self._live, key=lambda a: len(a.waiting))
        return answers.call(args)

    def stop(self) -> None:
        """Close every socket: the processes read end-of-file and exit; calls not answered are cancelled."""
        self._stopped = True
        for task in self._starting:
            task.cancel()
        for answers, process in list(self._live.items()):
            for future in answers.waiting:
                future.cancel()
            answers.waiting.clear()
            if answers.transport is not None:
                answers.transport.close()
            _reap_later(process)
        self._live.clear()

    async def _spawn(self) -> _Answers:
        ours, theirs = socket.socketpair()
        for end in (ours, theirs):
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER_BYTES)
        process = self._context.Process(target=serve, args=(theirs, self._handler), name="vendorwatch-digest",
                                        daemon=True)
        try:
            process.start()
        finally:
            theirs.close()  # only the process holds its end: the worker's ending is its end-of-file
        loop = asyncio.get_running_loop()
        transport, answers = await loop.create_connection(lambda: _Answers(self._lost), sock=ours)
        if self._stopped:  # stopped while this one started (a replacement): it must not outlive the pool
            transport.close()
            _reap_later(process)
        else:
            self._live[answers] = process
        return answers

    def _lost(self, answers: _Answers) -> None:
        process = self._live.pop(answers, None)
        if process is None or self._stopped:
            return
        log.warning("shipment digest process %s ended (exit code %s); starting another", process.pid,
                    process.exitcode)
        _reap_later(process)
        task = asyncio.ensure_future(self._spawn())
        self._starting.add(task)
        task.add_done_callback(self._started)

    def _started(self, task: asyncio.Task[Any]) -> None:
        self._starting.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("could not start a shipment digest process: %s", task.exception())


def _retrieved(future: asyncio.Future[Any]) -> None:
    # Records dropped at a rebalance leave their answer unread: a failed one must not be logged as lost.
    if not future.cancelled():
        future.exception()


def _reap_later(process: multiprocessing.process.BaseProcess) -> None:
    # Collect its exit status once it has gone (no zombie), without blocking the event loop. Outside a
    # running loop (a pool stopped as its loop ends) multiprocessing reaps it at exit instead.
    with contextlib.suppress(RuntimeError):
        asyncio.get_running_loop().call_later(1.0, _reap, process)


def _reap(process: multiprocessing.process.BaseProcess) -> None:
    if process.is_alive():
        process.kill()  # it had a second to read end-of-file
    process.join(0)
