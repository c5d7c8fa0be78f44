"""One thin module per ``satclip`` subcommand: parse and validate options, call the library."""
