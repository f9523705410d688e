"""HTTP API: uploads, job status, report downloads, erasure and online image inference."""
