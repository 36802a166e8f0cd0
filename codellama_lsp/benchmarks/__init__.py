"""`codellama bench KIND`: one module per benchmark, each with `register(subparsers)`."""
