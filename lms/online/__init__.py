"""Online study and make-up (线上学习/补学)."""
