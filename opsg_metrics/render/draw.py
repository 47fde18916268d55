"""Drawing Vega-Lite specs as PNG, SVG or PDF with vl-convert, safely and in parallel.

vl-convert aborts the whole process (a Rust panic that cannot unwind) on some inputs, text that XML
cannot carry among them. Two defences, both here and nowhere else:

- every string of a spec is made printable (text.printable) before vl-convert sees it;
- vl-convert runs in worker processes (draw_worker.py, a plain script that imports nothing of the
  program that started it), so whatever it does, the caller gets an OpsgError ("the chart could not be
  drawn ...") and the next render starts a fresh worker: a renderer failure is a message, never a dead app.

The workers also let a month pack draw its charts in parallel (render_many), one per core.
"""

from __future__ import annotations

import atexit
import concurrent.futures as futures
import json
import os
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from opsg_metrics.store import text
from opsg_metrics.store.errors import OpsgError

FORMATS = ("png", "svg", "pdf")
PNG_PPI = 200
WORKER_SCRIPT = Path(__file__).resolve().with_name("draw_worker.py")
TIMEOUT_SECONDS = 180  # one chart; a worker taking longer is stopped (and a new one started)


def workers() -> int:
    """How many charts are drawn at once: $OPSG_RENDER_WORKERS, else one per core."""
    configured = os.environ.get("OPSG_RENDER_WORKERS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return max(1, os.cpu_count() or 1)


def spec_json(spec: dict) -> str:
    """The spec as JSON text with every string printable (checked in one pass; rebuilt only if needed)."""
    try:
        dumped = json.dumps(spec, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise OpsgError(f"the chart could not be drawn: its specification is not valid JSON ({exc})") from None
    if text.json_has_unprintable(dumped):
        dumped = json.dumps(text.printable_tree(spec), ensure_ascii=False, allow_nan=False)
    return dumped


class _WorkerStopped(Exception):
    """The worker process ended while drawing (its exit status says how)."""


class _Worker:
    """One worker process and its pipes; used by one thread at a time."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )

    def draw(self, spec: str, fmt: str, ppi: int, size: dict | None = None) -> bytes:
        body = spec.encode("utf-8")
        header = json.dumps({"fmt": fmt, "ppi": ppi, "spec_bytes": len(body), "size": size}).encode("ascii")
        timed_out = threading.Event()

        def stop_it() -> None:
            timed_out.set()
            self.process.kill()

        timer = threading.Timer(TIMEOUT_SECONDS, stop_it)
        timer.daemon = True
        timer.start()
        try:
            self.process.stdin.write(struct.pack(">I", len(header)) + header + body)
            self.process.stdin.flush()
            head = self._read(9)
            mark, size = head[:1], struct.unpack(">Q", head[1:])[0]
            payload = self._read(size)
        except (BrokenPipeError, OSError, _WorkerStopped):
            if timed_out.is_set():
                raise _WorkerStopped(f"it took longer than {TIMEOUT_SECONDS} s") from None
            raise _WorkerStopped(self._how_it_ended()) from None
        finally:
            timer.cancel()
        if mark == b"!":
            raise ValueError(payload.decode("utf-8", "replace"))
        return payload

    def _read(self, size: int) -> bytes:
        chunks, left = [], size
        while left:
            chunk = self.process.stdout.read(left)
            if not chunk:
                raise _WorkerStopped()
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _how_it_ended(self) -> str:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.stop()
            return "it stopped answering"
        return f"it ended with signal {-code}" if code < 0 else f"it ended with exit status {code}"

    def stop(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class _Pool:
    """Up to workers() worker processes, started when first needed and again after one stops."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._started = 0
        self._all: list[_Worker] = []

    def _acquire(self) -> _Worker:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._started < workers():
                self._started += 1
                try:
                    worker = _Worker()
                except OSError as exc:
                    self._started -= 1
                    raise OpsgError(f"the chart could not be drawn: the renderer cannot start ({exc})") from None
                self._all.append(worker)
                return worker
        return self._idle.get()

    def _discard(self, worker: _Worker) -> None:
        worker.stop()
        with self._lock:
            self._started -= 1
            if worker in self._all:
                self._all.remove(worker)

    def draw(self, spec: str, fmt: str, ppi: int, size: dict | None = None) -> bytes:
        worker = self._acquire()
        try:
            result = worker.draw(spec, fmt, ppi, size)
        except _WorkerStopped as exc:
            self._discard(worker)
            raise OpsgError(
                f"the chart could not be drawn: the renderer stopped unexpectedly ({exc}); nothing "
                "was written. Try again, and report the chart if it happens again"
            ) from None
        except ValueError as exc:
            self._idle.put(worker)
            raise OpsgError(f"the chart could not be drawn: {str(exc)[:300]}") from None
        except BaseException:
            self._discard(worker)  # interrupted mid-answer: its pipe is out of step
            raise
        self._idle.put(worker)
        return result

    def shutdown(self) -> None:
        with self._lock:
            running, self._all, self._started = self._all, [], 0
        self._idle = queue.LifoQueue()
        for worker in running:
            worker.stop()


_POOL = _Pool()
atexit.register(_POOL.shutdown)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise OpsgError(f"unknown format '{fmt}' (use {', '.join(FORMATS)})")


def physical_size(spec: dict) -> dict | None:
    """The physical size a print layout gave the spec (render/layout.py puts it in `usermeta`), or None."""
    meta = spec.get("usermeta")
    size = meta.get(PRINT_SIZE_KEY) if isinstance(meta, dict) else None
    return dict(size) if isinstance(size, dict) else None


PRINT_SIZE_KEY = "opsg_print_size"


def render(spec: dict, fmt: str, *, ppi: int = PNG_PPI) -> bytes:
    """A Vega-Lite spec as PNG (at `ppi`), SVG or PDF bytes, at its physical size when a print layout
    gave it one; OpsgError if it cannot be drawn."""
    _check_format(fmt)
    return _POOL.draw(spec_json(spec), fmt, ppi, physical_size(spec))


def render_many(specs: Iterable[dict], fmt: str, *, ppi: int = PNG_PPI) -> Iterator[bytes]:
    """Each spec drawn, in order, as many at a time as there are workers (each given as soon as it and
    those before it are ready). A chart that cannot be drawn raises OpsgError when its turn comes."""
    _check_format(fmt)
    count = workers()
    with futures.ThreadPoolExecutor(max_workers=count, thread_name_prefix="opsg-render") as threads:
        pending: list[futures.Future] = []
        iterator = iter(specs)
        end = object()
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < 2 * count:  # bounded: a long pack is not held at once
                    spec = next(iterator, end)
                    if spec is end:
                        exhausted = True
                    else:
                        pending.append(threads.submit(_POOL.draw, spec_json(spec), fmt, ppi, physical_size(spec)))
                if not pending:
                    return
                yield pending.pop(0).result()
        finally:
            for future in pending:
                future.cancel()
