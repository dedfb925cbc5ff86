"""The `monkeys` commands, one module per command (or per group of commands on a stored run).

Each module gives `add_parser(sub)`, which adds its subcommand with its help text, and the
handler `harness.cli.main` calls with the parsed arguments. A handler returns the paths it
wrote ({label: path}) or, for commands that print their own output, the exit status.
"""
