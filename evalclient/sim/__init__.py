"""TGI simulator: TGI's HTTP API over a continuous-batching latency model, scripted answers and faults.

Runs where only the standard library, aiohttp (>= 3.8) and PyYAML exist (the offline simulator image), so
nothing here imports the rest of evalclient. Entry point: `python3 -m evalclient.sim [TGI launcher flags]`.
"""

from __future__ import annotations

from aiohttp import web

from .cli import build_parser, main
from .config import SimConfig, SimConfigError
from .profiles import PROFILES, Profile
from .rules import RulesError, RuleSet, load_rules
from .scheduler import Clock, RealClock, Scheduler, SimulatedClock
from .server import SimServer

__all__ = [
    "PROFILES",
    "Clock",
    "Profile",
    "RealClock",
    "RuleSet",
    "RulesError",
    "Scheduler",
    "SimConfig",
    "SimConfigError",
    "SimServer",
    "SimulatedClock",
    "build_parser",
    "create_app",
    "load_rules",
    "main",
]


def create_app(
    config: SimConfig | None = None, rules: RuleSet | None = None, clock: Clock | None = None
) -> web.Application:
    """The simulator's aiohttp application (defaults: the `fast` profile, no rules, the wall clock).

    Use `SimServer(config, rules, clock)` instead to reach its state (`.engine`, `.crashed`) as well.
    """
    return SimServer(config or SimConfig.for_profile("fast"), rules, clock).app
