"""The ``tierflow`` command: one subcommand per module, found through a registry.

Example
-------
::

    tierflow ls raw.lh5 'ch*/raw'
    tierflow show raw.lh5 ch1084803/raw --depth 1
"""

from __future__ import annotations

from tierflow.cli._main import COMMANDS, Command, main

__all__ = ["COMMANDS", "Command", "main"]
