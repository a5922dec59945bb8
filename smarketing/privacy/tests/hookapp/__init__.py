"""A test-only app that declares privacy hooks, to prove privacy discovers an app's hooks by itself."""
