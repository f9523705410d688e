"""What the service's parts share beyond the job store: its configuration (`settings`), the limits a
recording must meet before it is accepted (`limits`) and the audit log (`audit`). Used by api/, worker/ and
the service commands in cli/; the analysis library never imports it."""
