"""The `codellama` subcommands, one module each, each with `register(subparsers)`."""
