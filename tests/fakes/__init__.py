"""Real servers and in-repo stand-ins that tests start on 127.0.0.1 (not tests themselves)."""
