"""Where a frame becomes faces, and faces become tracks with stable ids."""
