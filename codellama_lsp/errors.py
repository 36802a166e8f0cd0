"""Errors a user can cause: reported as one line, never as a traceback."""


class UserError(Exception):
    """Bad input from a user or an editor (path, position, setting)."""
