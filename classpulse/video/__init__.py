"""Reading recordings: probing containers and streaming frames at a constant analysis rate."""
