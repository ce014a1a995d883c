"""Shadow mode: a parallel run beside the tool being replaced."""
