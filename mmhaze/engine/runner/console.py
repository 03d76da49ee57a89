"""What a tool prints: a header, progress lines and the result; the rest goes to the log file.

mmengine logs the whole environment (with a 2,000-character CUDA flags line), the config and the
hook tables at INFO when a Runner starts: ~370 lines before the first progress line. The log file
keeps all of it; the console shows warnings and errors, mmengine's iteration lines, checkpoint
saves, stage switches and what mmhaze marks for the console (``extra=CONSOLE``). ``--verbose``
(``MMHAZE_VERBOSE=1``) prints everything, as mmengine does.
"""
from __future__ import annotations

import logging
import re

from mmhaze.utils.cli import verbose

#: ``logger.info(msg, extra=CONSOLE)`` shows ``msg`` on the console.
CONSOLE = {'mmhaze_console': True}
# mmengine's lines worth seeing live: iteration logs, validation/test results, checkpoint saves.
_SHOWN = re.compile(r'^(Iter|Epoch)\((train|val|test)\)|^Saving checkpoint|^The best checkpoint')
# mmengine's deprecation notices about a FileClient its own CheckpointHook builds and never uses
# (when no file_client_args is set): nothing a user can act on.
_IRRELEVANT = re.compile(r'^"(FileClient|HardDiskBackend)" (will be deprecated|is the alias)')


class ConsoleFilter(logging.Filter):
    """Pass warnings, errors, progress and the records marked :data:`CONSOLE`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg).lstrip()
        if record.levelno >= logging.WARNING:
            return not _IRRELEVANT.match(message)
        return getattr(record, 'mmhaze_console', False) or bool(_SHOWN.match(message))


def quiet_console(logger: logging.Logger) -> None:
    """Put :class:`ConsoleFilter` on the logger's console handlers (not on its log file), unless
    ``MMHAZE_VERBOSE`` asks for everything."""
    if verbose():
        return
    for handler in logger.handlers:
        if type(handler) is logging.StreamHandler and not any(
                isinstance(f, ConsoleFilter) for f in handler.filters):
            handler.addFilter(ConsoleFilter())
