"""``python -m interp_core``: recipes, train, explain, load-model, bench, report, ship.

The CLI sits on top of the engine: it reads the family registry (interp_core.family) and no family
imports it. With ``--json`` the last line printed on stdout is one JSON object (metrics, or
{"error": ...}); a user's mistake exits with code 2 and one sentence on stderr, never a traceback.
"""

from interp_core.cli.main import build_parser, main, whole_number

__all__ = ["build_parser", "main", "whole_number"]
