"""The audit log (审计日志): who changed what, and when; every feature records into it."""
