"""The app processes of `moot serve --workers N`: each listens on a socket of its own on the same port.

uvicorn's own `--workers` binds one socket in the parent and shares it: every process waits on it, and the one
that wakes first accepts every connection queued at that moment. Connections that stay open (a client's
keep-alive, a proxy's upstream pool, the bench's clients) then stay wherever that burst went: measured on the
bench, 16 connections opened together all landed in one of the two processes in 5 runs of 13, so one core
served while the other idled, and the same code measured 210 or 445 requests/s from one run to the next.

Here each process binds its own socket with SO_REUSEPORT (Linux): the kernel hashes each new connection to one
of the listening sockets, so connections spread over the processes as they arrive (64 connections split about
32 +- 4 between two; 16 split from 8/8 to 13/3 in the bench's measurements, never 16/0). A process that dies
takes its socket with it: what it had queued is reset, new connections go to the others until the parent has
started its replacement.

The parent holds the port for its lifetime with a socket bound with SO_REUSEPORT that never listens (the kernel
gives connections to listening sockets only). A second server started on the same port by mistake fails to bind
(`port_taken`) instead of silently sharing the port, since it first binds without SO_REUSEPORT, which the
parent's socket refuses.

It does less than uvicorn's supervisor: no health pings of a hung process, no SIGHUP restart or SIGTTIN to add
one. A process that exits is started again, unless it failed before it served (its app or its TLS files are
broken: every restart would fail the same way), which stops the server."""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn
from uvicorn.config import STARTUP_FAILURE

log = logging.getLogger("uvicorn.error")


class PortTaken(Exception):
    """The address is in use by another server: `moot serve` says so and exits."""


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _bound(host: str, port: int, *options: int) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        for option in options:
            sock.setsockopt(socket.SOL_SOCKET, option, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def listening_socket(host: str, port: int) -> socket.socket:
    """An app process's own listening socket: one of the port's SO_REUSEPORT group."""
    sock = _bound(host, port, socket.SO_REUSEADDR, socket.SO_REUSEPORT)
    sock.listen(2048)
    return sock


def hold_port(host: str, port: int) -> socket.socket:
    """The parent's socket on the port, never listening; PortTaken if another server has the port.

    The probe binds without SO_REUSEPORT, so any socket on the port refuses it, another Moot's included
    (SO_REUSEADDR only lets it past connections of an earlier run still in TIME_WAIT). The hold has
    SO_REUSEPORT without SO_REUSEADDR: the app processes' sockets may join it, another server's probe may not."""
    try:
        _bound(host, port, socket.SO_REUSEADDR).close()
        return _bound(host, port, socket.SO_REUSEPORT)
    except OSError as exc:
        raise PortTaken(f"{host}:{port} is in use ({exc.strerror})") from exc


def _serve_one(config: uvicorn.Config) -> None:
    """A process's life: its own listening socket, then uvicorn's server on it (which handles SIGINT/SIGTERM)."""
    config.configure_logging()
    # The app imported and built before the socket listens: the kernel sends no connection to a process that
    # cannot answer yet (a replacement joins the others only once it can serve).
    config.load()
    try:
        sock = listening_socket(config.host, config.port)
    except OSError:
        log.exception("could not listen on %s:%s", config.host, config.port)
        raise SystemExit(STARTUP_FAILURE) from None
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)  # the app's startup failed (uvicorn logged why)


class Processes:
    """N app processes kept running until SIGINT or SIGTERM."""

    def __init__(self, config: uvicorn.Config, count: int) -> None:
        self.config = config
        self.count = count
        self.stop = threading.Event()
        self._context = multiprocessing.get_context("spawn")
        self.processes: list[BaseProcess] = []

    def _start(self) -> BaseProcess:
        process = self._context.Process(target=_serve_one, args=(self.config,), name="moot-app")
        process.start()
        log.info("Started app process [%s]", process.pid)
        return process

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop.set()

    def run(self) -> None:
        hold = hold_port(self.config.host, self.config.port)
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)
        try:
            self.processes = [self._start() for _ in range(self.count)]
            while not self.stop.wait(0.5):
                self._replace_exited()
        finally:
            for process in self.processes:
                if process.is_alive():
                    process.terminate()  # SIGTERM: uvicorn finishes the requests under way
            for process in self.processes:
                process.join()
            hold.close()

    def _replace_exited(self) -> None:
        for index, process in enumerate(self.processes):
            if process.is_alive():
                continue
            if process.exitcode == STARTUP_FAILURE:
                log.error("App process [%s] failed to start: stopping the server.", process.pid)
                self.stop.set()
                return
            log.warning("App process [%s] exited (%s): starting another", process.pid, process.exitcode)
            self.processes[index] = self._start()
