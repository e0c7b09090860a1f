"""Training evaluation (教学评估): trainees rate the lessons they attended and the session."""
