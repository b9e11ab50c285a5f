"""One device lent to all the workers of a shot-parallel render: their keyframes solved there together.

Each worker would otherwise load the torch stages onto the device itself (N copies of the networks, N
contexts taking turns on the GPU, each keyframe a batch of one). A :class:`DeviceService` holds them once,
in the driver's process: the optimization solver's engine (``solver.optim_engine``) and the automatic
colorization network. A worker's colorizer prepares its keyframe on its own cores as before and sends the
prepared problem over a Unix socket (in a private folder, with a random key); the service takes the first
request, then whatever else arrives within ``BATCH_WAIT_S`` or until every connected worker is waiting (at
most ``MAX_BATCH``), solves them together and answers each. While it solves, further requests queue, so
under load the batches fill by themselves. A problem's answer is the one it would get alone, up to the
rounding of batched kernels (``solver.optim_engine``).

The service is for worker processes of one machine; a Ray task uses its own node's device.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener
from typing import Any, ClassVar

import numpy as np

from vidcolor.errors import VidcolorError
from vidcolor.registry import ServiceAddress
from vidcolor.solver.base import SolverError
from vidcolor.solver.optim_engine import OptimEngine, SolveProblem, SolveResult

log = logging.getLogger("vidcolor.solver")

# How long the service waits for more requests after the first of a batch, when not every worker is waiting
# (a keyframe solve on a GPU takes a few hundred milliseconds; a worker busy decoding may not send for seconds).
BATCH_WAIT_S = 0.02
MAX_BATCH = 16

Handler = Callable[[list[Any]], list[Any]]


@dataclass
class ServiceStats:
    """What a service did: requests answered and the batches they went in (sizes, largest first seen)."""

    requests: int = 0
    batches: list[int] = field(default_factory=list)

    @property
    def largest(self) -> int:
        return max(self.batches, default=0)


class DeviceService:
    """Answers workers' requests in batches (see the module); ``handlers`` maps a kind of request to the
    function that answers a list of them, in order, at once.

    Use as a context manager: the socket listens from entry, and on exit the threads stop and the socket
    folder goes.
    """

    def __init__(self, handlers: dict[str, Handler], identity: dict[str, Any], device: str = "cpu") -> None:
        self.device = device  # where the handlers' networks are, for messages
        self._handlers = handlers
        self._identity = identity
        self._folder = tempfile.mkdtemp(prefix="vidcolor-device-")  # short (a socket path is at most 107 bytes), 0700
        self.address = ServiceAddress(os.path.join(self._folder, "socket"), os.urandom(32))
        self.stats = ServiceStats()
        self._requests: queue.Queue[tuple[Connection, str, Any]] = queue.Queue()
        self._connections: set[Connection] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = Listener(self.address.path, family="AF_UNIX", authkey=self.address.authkey)
        self._threads = [
            threading.Thread(target=self._accept, name="vidcolor-device-accept", daemon=True),
            threading.Thread(target=self._answer, name="vidcolor-device-batches", daemon=True),
        ]

    def __enter__(self) -> DeviceService:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop listening and answering (workers still connected get end-of-file), remove the socket's folder."""
        if self._stop.is_set():
            return
        self._stop.set()
        # Wakes the accepting thread, which looks at the stop flag.
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as wake:
            wake.connect(self.address.path)
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=5)
        self._listener.close()
        with self._lock:  # each reader, at end-of-file, closes its own connection
            for connection in self._connections:
                with contextlib.suppress(OSError), socket.socket(fileno=os.dup(connection.fileno())) as end:
                    end.shutdown(socket.SHUT_RDWR)
        shutil.rmtree(self._folder, ignore_errors=True)
        if self.stats.requests:
            log.info("device service: %d keyframe requests in %d batches (largest %d)", self.stats.requests,
                     len(self.stats.batches), self.stats.largest)  # fmt: skip

    # -- the threads --------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection = self._listener.accept()
            except (OSError, EOFError, AuthenticationError):  # the stop's wake-up call (no key), or a stranger
                continue
            if self._stop.is_set():
                connection.close()
                return
            with self._lock:
                self._connections.add(connection)
            threading.Thread(target=self._read, args=(connection,), name="vidcolor-device-read", daemon=True).start()

    def _read(self, connection: Connection) -> None:
        """Queue one worker's requests as they come; its end of the socket closing ends it."""
        try:
            while not self._stop.is_set():
                kind, payload = _receive(connection)
                if kind == "identity":
                    _send(connection, ("ok", self._identity))
                else:
                    self._requests.put((connection, kind, payload))
        except (EOFError, OSError):  # the worker's end closed, or close() shut the socket down
            pass
        finally:
            with self._lock:
                self._connections.discard(connection)
            connection.close()

    def _answer(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._requests.get(timeout=0.2)
            except queue.Empty:
                continue
            batch = [first]
            deadline = time.monotonic() + BATCH_WAIT_S
            while len(batch) < MAX_BATCH:
                with self._lock:
                    everyone = len(self._connections)
                if len(batch) >= everyone:
                    break
                try:
                    batch.append(self._requests.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            try:
                self._run(batch)
            except Exception as exc:  # an answer that could not be sent: the workers must not wait for ever
                log.exception("device service: a batch of %d requests failed", len(batch))
                for connection, _, _ in batch:
                    with contextlib.suppress(Exception):
                        _send(connection, ("error", (f"the device service failed: {type(exc).__name__}: {exc}", 70)))

    def _run(self, batch: list[tuple[Connection, str, Any]]) -> None:
        """Answer ``batch``, kind by kind, each kind's requests in one call of its handler."""
        self.stats.requests += len(batch)
        self.stats.batches.append(len(batch))
        for kind in dict.fromkeys(k for _, k, _ in batch):
            asked = [(c, p) for c, k, p in batch if k == kind]
            handler = self._handlers.get(kind)
            try:
                if handler is None:
                    raise SolverError(f"the device service does not answer {kind!r} requests")
                answers = [("ok", a) for a in handler([p for _, p in asked])]
            except VidcolorError as exc:
                answers = [("error", (exc.message, exc.exit_code))] * len(asked)
            except Exception as exc:  # a failing network: every worker waiting on it is told
                answers = [("error", (f"the device service failed: {type(exc).__name__}: {exc}", 70))] * len(asked)
            for (connection, _), answer in zip(asked, answers, strict=True):
                with contextlib.suppress(OSError):  # a worker gone meanwhile
                    _send(connection, answer)


class _Client:
    """A worker's connection to the service (opened on first use, one per thread and address: a connection
    carries one request and its answer at a time)."""

    _open: ClassVar[dict[tuple[str, int], Connection]] = {}

    def __init__(self, address: ServiceAddress) -> None:
        self.address = address

    def ask(self, kind: str, payload: Any) -> Any:
        connection = self._connection()
        try:
            _send(connection, (kind, payload))
            status, answer = _receive(connection)
        except (EOFError, OSError) as exc:
            _Client._open.pop(self._key(), None)
            raise ServiceGone(f"the device service at {self.address.path} is gone ({exc or 'closed'})") from exc
        if status == "error":
            message, code = answer
            error = SolverError(message)
            error.exit_code = code
            raise error
        return answer

    def _connection(self) -> Connection:
        connection = _Client._open.get(self._key())
        if connection is None:
            try:
                connection = Client(self.address.path, family="AF_UNIX", authkey=self.address.authkey)
            except OSError as exc:
                raise ServiceGone(f"cannot reach the device service at {self.address.path} ({exc})") from exc
            _Client._open[self._key()] = connection
        return connection

    def _key(self) -> tuple[str, int]:
        return self.address.path, threading.get_ident()


def _send(connection: Connection, message: Any) -> None:
    """``message`` pickled by value. A connection's own pickler would hand torch's tensors over as handles to
    shared memory, which only a process started by the same multiprocessing family can open (a Ray actor and a
    Ray task cannot: "digest sent was rejected")."""
    connection.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def _receive(connection: Connection) -> Any:
    return pickle.loads(connection.recv_bytes())


class ServiceGone(SolverError):
    """The device service a worker was given cannot be reached (the driver stopped)."""

    exit_code = 70


class ServiceEngine:
    """A :class:`~vidcolor.solver.optim.SolveEngine` whose solves run in a device service."""

    def __init__(self, address: ServiceAddress) -> None:
        self._client = _Client(address)
        self._identity: dict[str, str] | None = None

    def solve(self, problems: list[SolveProblem]) -> list[SolveResult]:
        return [self._client.ask("optim", problem) for problem in problems]

    def identity(self) -> dict[str, str]:
        if self._identity is None:
            self._identity = dict(self._client.ask("identity", None)["optim"])
        return self._identity


class ServiceNetwork:
    """A :class:`~vidcolor.solver.zhang.NetworkRunner` whose network runs in a device service."""

    def __init__(self, address: ServiceAddress) -> None:
        self._client = _Client(address)

    def ab_of(self, lightness: np.ndarray) -> np.ndarray:
        return np.stack([self._client.ask("auto", picture) for picture in lightness])

    def identity(self) -> str:
        return str(self._client.ask("identity", None)["auto"])


def optim_handler(engine: OptimEngine) -> Handler:
    """Solves a batch of problems together; the results come back to the host (grids, Adam's state)."""

    def solve(problems: list[SolveProblem]) -> list[SolveResult]:
        return [_to_host(result) for result in engine.solve(problems)]

    return solve


def network_handler(runner: Any) -> Handler:
    """Runs a batch of lightness pictures ``(S, S)`` through an automatic network together."""

    def run(pictures: list[np.ndarray]) -> list[np.ndarray]:
        return list(runner.ab_of(np.stack(pictures)))

    return run


def _to_host(result: SolveResult) -> SolveResult:
    adam = {k: v.detach().cpu() for k, v in result.adam.items()} if result.adam is not None else None
    return SolveResult(result.grids.detach().cpu(), adam, result.iterations, result.loss)
