"""Each member's training record (学习档案): a year's sessions, hours, quizzes, certificates."""
