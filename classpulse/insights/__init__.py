"""From per-face expressions, head pose and pulse to the answers a lecturer asks for: attention, valence
and arousal, an engagement index, lecture segments and flags with their evidence. Pure functions of
numbers, like `classpulse.summary`, which calls them."""
