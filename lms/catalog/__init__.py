"""The course catalog: courses, themes and their pages."""
