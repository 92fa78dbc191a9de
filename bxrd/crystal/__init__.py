"""Crystal structures: loading, ABX3 site identification, built-in templates and TER."""
