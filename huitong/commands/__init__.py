"""One module per `huitong` subcommand."""
