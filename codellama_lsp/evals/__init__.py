"""Evaluations run by `codellama eval KIND` (one module per kind, found by name)."""
