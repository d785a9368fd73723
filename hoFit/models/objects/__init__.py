"""Object templates: mesh loading and validation, signed-distance grids, procedural objects."""
