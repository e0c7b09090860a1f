"""In-app notifications (消息): what changed for a member, in their own language, and their page."""
