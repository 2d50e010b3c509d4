"""Known-benign lines that Ray's C++ core and RLlib print on a healthy run, held back.

Some noise cannot be fixed at its cause from here:

* ``core_worker.cc: Actor with class name: 'LeanEnvRunner' ... has constructor arguments
  in the object store and max_restarts > 0`` (ray#53727): RLlib hands every env runner
  its config through the object store (``ray.put``), so the warning fires for every
  runner, whatever the config's size. Printed by C++ on the driver's stderr.
* RLlib's deprecation notice for ``RLModuleConfig``, which ``RLModule.__init__`` itself
  builds (every module build), relayed from workers that log it before
  ``marl.rllib`` has quieted their logger.

``filter_stderr()`` runs the process's stderr (fd 2, so C++ writes too) through a pipe
and drops lines matching ``BENIGN``; everything else passes unchanged, so real errors
and warnings still reach the user. ``marl train --verbose`` does not filter.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator

__all__ = ["BENIGN", "filter_stderr"]

BENIGN = (
    re.compile(r"core_worker\.cc:\d+: Actor with class name: .* has constructor arguments in "
               r"the object store and max_restarts > 0"),
    re.compile(r"DeprecationWarning: `RLModule\(config=\[RLModuleConfig object\]\)`"),
)


def _pump(read_fd: int, out_fd: int) -> None:
    pending = b""
    try:
        with os.fdopen(read_fd, "rb", buffering=0) as src:
            while chunk := src.read(65536):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                kept = [line for line in lines
                        if not any(p.search(line.decode("utf-8", "replace")) for p in BENIGN)]
                if kept:
                    os.write(out_fd, b"\n".join(kept) + b"\n")
        if pending:
            os.write(out_fd, pending)
    except OSError:  # the process is exiting
        pass


@contextlib.contextmanager
def filter_stderr() -> Iterator[None]:
    """Drop ``BENIGN`` lines from everything written to fd 2 inside the block."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (embedded interpreters): nothing to do
        yield
        return
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    pump = threading.Thread(target=_pump, args=(read_fd, saved), daemon=True,
                            name="marl-stderr-filter")
    pump.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        # Back to the real stderr. Ray's processes started inside the block still hold
        # the pipe: the pump keeps relaying (and filtering) them until they exit.
        os.dup2(saved, 2)
        pump.join(timeout=0.2)
