"""A CartPole that fails on purpose: for testing that a sampler survives its environments.

``gymnasium.make("rlcheck/Faulty-v0", fault=..., phase=..., at=...)`` (registered with
gymnasium when :mod:`rlcheck.sampling` is imported, so worker processes of every start method
can make it) behaves as ``CartPole-v1`` until its ``at``-th call of ``phase`` (``"reset"`` or
``"step"``, counted per environment, from 1; ``"init"``: while it is made), where it:

==============  ==================================================================
``fault``       what happens
==============  ==================================================================
``"segfault"``  the process receives ``SIGSEGV`` (as from a crash in C code)
``"hang"``      the call never returns (as a deadlock in a simulator)
``"exit"``      the process exits with code :data:`EXIT_CODE`
``"raise"``     :class:`PlantedEnvError` is raised
``"none"``      nothing (a plain CartPole)
==============  ==================================================================

``"segfault"``, ``"hang"`` and ``"exit"`` take the whole process with them: use them only in
samplers that run environments in worker processes. ``spare_pid`` names a process where the
fault never fires (``AsyncVectorEnv`` makes one probe environment in the calling process).
"""

from __future__ import annotations

import faulthandler
import os
import signal
import threading
from typing import Any

from gymnasium.envs.classic_control.cartpole import CartPoleEnv

FAULTY_ID = "rlcheck/Faulty-v0"
"""The gymnasium id of :class:`FaultyCartPole`."""
FAULTS = ("none", "segfault", "hang", "exit", "raise")
PHASES = ("init", "reset", "step")
EXIT_CODE = 13
"""Exit code of the ``"exit"`` fault."""


class PlantedEnvError(RuntimeError):
    """The ``"raise"`` fault of :class:`FaultyCartPole`."""


class FaultyCartPole(CartPoleEnv):
    """CartPole that segfaults, hangs, exits or raises on its ``at``-th ``phase`` call."""

    def __init__(self, fault: str = "none", phase: str = "step", at: int = 1,
                 spare_pid: int | None = None, **kwargs: Any) -> None:
        if fault not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}, got {fault!r}")
        if phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")
        if isinstance(at, bool) or not isinstance(at, int) or at < 1:
            raise ValueError(f"at must be a positive integer, got {at!r}")
        super().__init__(**kwargs)
        self.fault, self.phase, self.at = fault, phase, at
        self.calls = 0
        if spare_pid == os.getpid():
            self.fault = "none"
        self._maybe_fail("init")

    def _maybe_fail(self, phase: str) -> None:
        if phase != self.phase:
            return
        self.calls += 1
        if self.calls != self.at or self.fault == "none":
            return
        if self.fault == "segfault":
            faulthandler.disable()  # die as an unprepared process would, without a dump
            os.kill(os.getpid(), signal.SIGSEGV)
        elif self.fault == "hang":
            threading.Event().wait()
        elif self.fault == "exit":
            os._exit(EXIT_CODE)
        raise PlantedEnvError(f"planted environment failure in {phase} call {self.calls}")

    def reset(self, **kwargs: Any) -> Any:
        self._maybe_fail("reset")
        return super().reset(**kwargs)

    def step(self, action: Any) -> Any:
        """CartPole's step, after the planted fault (if any) for this call."""
        self._maybe_fail("step")
        return super().step(action)
