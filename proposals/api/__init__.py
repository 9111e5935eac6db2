"""API v1 of the proposals app, one module per subject."""
