"""Humans in the loop: the ``human`` actor, its web page and server.

A ``human`` actor puts a person in a trial through a browser page: the page shows the
environment's frames live, sends the person's key presses and button clicks as actions, and
lets them reward other actors (good / bad, with a confidence). The trial is recorded like any
other, with each tick annotated with who chose the action::

    actors:
      - name: player
        implementation: human
        config: {rate: 20, on_timeout: repeat}

Modules: :mod:`~cogym.web.actor` (the actor), :mod:`~cogym.web.config` (its config keys),
:mod:`~cogym.web.teacher` (a person as DAgger's teacher, labelling on the page),
:mod:`~cogym.web.room` (the tick clock shared by the people of one trial),
:mod:`~cogym.web.waiting` (waiting for the person within a tick),
:mod:`~cogym.web.channel` (one page's input and output), :mod:`~cogym.web.connection` (the
page's socket end, and what a channel needs from its server), :mod:`~cogym.web.server`
(Starlette on uvicorn, in a thread), :mod:`~cogym.web.hosts` (the names it answers to, its
security headers), :mod:`~cogym.web.protocol` (the messages), :mod:`~cogym.web.actions`
(JSON actions and key maps), :mod:`~cogym.web.frames` (JPEG/PNG frames).

Needs the ``web`` extra: ``pip install "cogym[web]"``.
"""

from __future__ import annotations

from cogym.web.actor import HumanActor
from cogym.web.channel import HumanChannel
from cogym.web.config import HumanConfig
from cogym.web.server import WebServer, channels, shared_server, wait_for_channel

__all__ = [
    "HumanActor",
    "HumanChannel",
    "HumanConfig",
    "WebServer",
    "channels",
    "shared_server",
    "wait_for_channel",
]
