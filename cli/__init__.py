"""The `classpulse` command: analysis, training and evaluation (`cli.main`) and the service's processes
and API keys (`cli.service`). It composes the analysis library, the reports and the service, so it lives
outside all three."""
