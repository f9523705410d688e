"""The SQL job store (source of truth for jobs) and the data-directory layout, shared by api/ and worker/."""
