"""The plant's organisation: departments, shifts, party branches, members and the roster."""
