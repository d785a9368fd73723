"""Small shared utilities: device selection, atomic file writes."""
